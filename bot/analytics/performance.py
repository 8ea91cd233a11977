"""Return, risk and trade statistics computed with empyrical from a daily equity curve."""

from __future__ import annotations

import math

import empyrical as ep
import numpy as np
import pandas as pd

RETURN_KEYS = ("total_return", "cagr", "annual_volatility", "sharpe", "sortino", "calmar", "max_drawdown")


def periods_per_year(index: pd.DatetimeIndex) -> int:
    """Return 365 when the market trades on weekends (crypto), else 252."""
    days = pd.DatetimeIndex(index).normalize().unique()
    return 365 if (days.day_of_week >= 5).any() else 252


def daily_equity(equity: pd.Series) -> pd.Series:
    """Return the equity at each UTC day's last mark (intraday curves collapse to daily)."""
    idx = pd.DatetimeIndex(equity.index)
    daily = equity.groupby(idx.normalize()).last()
    daily.index = pd.DatetimeIndex(daily.index)
    return daily


def return_metrics(equity: pd.Series, periods: int) -> dict[str, float | None]:
    """Return total_return, cagr, annual_volatility, sharpe, sortino, calmar and max_drawdown
    (negative); None where a figure is NaN."""
    daily = daily_equity(equity)
    rets = daily.pct_change().dropna()
    if len(rets) == 0:
        return {k: 0.0 for k in RETURN_KEYS}
    total = float(daily.iloc[-1] / daily.iloc[0] - 1.0)
    out = {
        "total_return": total,
        "cagr": float(ep.annual_return(rets, annualization=periods)),
        "annual_volatility": float(ep.annual_volatility(rets, annualization=periods)),
        "sharpe": float(ep.sharpe_ratio(rets, annualization=periods)),
        "sortino": float(ep.sortino_ratio(rets, annualization=periods)),
        "calmar": float(ep.calmar_ratio(rets, annualization=periods)),
        "max_drawdown": float(ep.max_drawdown(rets)),
    }
    return {k: _finite(v) for k, v in out.items()}


def trade_metrics(trades: pd.DataFrame) -> dict[str, float | int | None]:
    """Return n_trades (n_long, n_short), win_rate and profit_factor from net trade P&L."""
    pnl = trades["pnl_net"].astype(float) if len(trades) else pd.Series(dtype=float)
    wins, losses = pnl[pnl > 0].sum(), -pnl[pnl < 0].sum()
    return {
        "n_trades": int(len(pnl)),
        "n_long": int((trades["side"] == "long").sum()) if len(trades) else 0,
        "n_short": int((trades["side"] == "short").sum()) if len(trades) else 0,
        "win_rate": _finite(float((pnl > 0).mean())) if len(pnl) else None,
        "profit_factor": _finite(float(wins / losses)) if losses > 0 else (None if wins == 0 else math.inf),
    }


def _finite(v: float) -> float | None:
    """Return v, or None for NaN (JSON has no NaN); infinities become strings later."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return float(np.float64(v))
