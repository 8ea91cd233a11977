"""Example rule-based long/short strategy: a Donchian channel breakout.

Go long when the close breaks above the highest high of the previous ``channel`` bars, short when it
breaks below their lowest low, and close either position when the close crosses back over the
channel's middle. Every signal at bar t uses bars up to t only (the channel is shifted by one bar).

Load it by path: ``strategy.name: ../../strategies/examples/channel_breakout.py:ChannelBreakout``
(relative to the config file), as ``config/examples/channel_breakout.yaml`` does.
"""

from __future__ import annotations

import pandas as pd
from pydantic import Field

from bot.risk.sizing import position_fraction
from strategies.base import BarView, Enter, Exit, Intent, Strategy, StrategyParams


class ChannelBreakoutParams(StrategyParams):
    channel: int = Field(default=20, ge=2)
    allow_short: bool = True


class ChannelBreakout(Strategy):
    """Long above the channel, short below it, flat again at the channel's middle."""

    Params = ChannelBreakoutParams
    params: ChannelBreakoutParams  # the instance built from Params (typed for the checker)
    signal_columns = ("upper", "lower", "middle")

    def sells_short(self) -> bool:
        return self.params.allow_short

    def warmup_bars(self) -> int:
        return self.params.channel + 1

    def compute_signals(self, bars: pd.DataFrame, prob_up: pd.Series | None) -> pd.DataFrame:
        n = self.params.channel
        upper = bars["high"].rolling(n).max().shift(1)  # the channel of the n bars BEFORE this one
        lower = bars["low"].rolling(n).min().shift(1)
        return pd.DataFrame({"upper": upper, "lower": lower, "middle": (upper + lower) / 2}, index=bars.index)

    def decide(self, view: BarView) -> Intent | None:
        if view.pending:
            return None
        s, close = view.signals, view.close
        if not s["upper"] == s["upper"]:  # NaN during warm-up
            return None
        size = position_fraction(self.risk, prob=None, payoff=None)
        if view.position == 0:
            if close > s["upper"]:
                return Enter(view.symbol, size, reason="breakout")
            if close < s["lower"] and self.params.allow_short:
                return Enter(view.symbol, size, reason="breakdown", side="short")
            return None
        if (view.position > 0 and close < s["middle"]) or (view.position < 0 and close > s["middle"]):
            return Exit(view.symbol, reason="middle")
        return None
