"""Equal-weight buy-and-hold of the run's symbols, paying the same commission and slippage."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


def buy_and_hold(
    bars: Mapping[str, pd.DataFrame], calendar: pd.DatetimeIndex, cash: float, commission: float, slippage: float
) -> pd.Series:
    """Return the benchmark's equity on ``calendar``.

    Each symbol gets cash / N. It is bought like a market order decided on its first bar's close:
    at the next bar's open plus slippage, paying commission; it is held and marked at each close,
    and the last mark pays the closing commission (as the strategy's ``end`` trades do).
    Cash of a symbol that starts later stays idle until then. Fractional shares.
    """
    per = cash / len(bars)
    equity = pd.Series(0.0, index=calendar)
    closing = 0.0
    for df in bars.values():
        if len(df) < 2:
            equity += per
            continue
        price = float(df["open"].iloc[1]) * (1 + slippage)
        shares = per / (price * (1 + commission))
        held = shares * df["close"].reindex(calendar).ffill()
        bought = calendar >= df.index[1]
        equity += held.where(bought, per).fillna(per)
        closing += shares * float(df["close"].iloc[-1]) * commission
    equity.iloc[-1] -= closing
    return equity
