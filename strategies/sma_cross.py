"""Rule-based baseline: long when the fast SMA crosses above the slow SMA, flat when it crosses below."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from bot.risk.sizing import position_fraction
from strategies.base import BarView, Enter, Exit, Intent, Strategy, StrategyParams, VectorRules


class SmaCrossParams(StrategyParams):
    fast: int = Field(default=10, ge=1)
    slow: int = Field(default=30, ge=2)

    @model_validator(mode="after")
    def _fast_below_slow(self) -> SmaCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be smaller than slow ({self.slow})")
        return self


def crossover(fast: pd.Series, slow: pd.Series) -> pd.Series:
    """Return +1 / -1 / 0 with Backtrader's CrossOver semantics.

    An up-cross at t needs the last non-zero (fast - slow) before t to be negative and fast > slow
    at t; equal values in between do not reset it (Backtrader's NonZeroDifference).
    """
    diff = fast - slow
    nzd = diff.where(diff != 0).ffill()
    prev = nzd.shift(1)
    up = (prev < 0) & (fast > slow)
    down = (prev > 0) & (fast < slow)
    return up.astype(np.float64) - down.astype(np.float64)


class SmaCrossStrategy(Strategy):
    """Long-only SMA crossover (buy on an up-cross, sell on a down-cross)."""

    Params = SmaCrossParams
    params: SmaCrossParams  # the instance built from Params (typed for the checker)
    signal_columns = ("cross",)
    vector_covers = ("decide",)

    def warmup_bars(self) -> int:
        return self.params.slow + 1

    def compute_signals(self, bars: pd.DataFrame, prob_up: pd.Series | None) -> pd.DataFrame:
        close = bars["close"]
        fast = close.rolling(self.params.fast).mean()
        slow = close.rolling(self.params.slow).mean()
        return pd.DataFrame({"cross": crossover(fast, slow)}, index=bars.index)

    def signal_rows(self, symbol: str, signals: pd.DataFrame) -> pd.DataFrame:
        """Return this symbol's signals.csv rows in the layout sma_cross always wrote (prediction = the cross)."""
        s = signals["cross"]
        s = s[s != 0]
        return pd.DataFrame(
            {"timestamp": s.index, "symbol": symbol, "fold": "", "prob_up": "", "prediction": s.to_numpy().astype(int)}
        )

    def decide(self, view: BarView) -> Intent | None:
        if view.pending:
            return None
        cross = view.signals["cross"]
        if view.position == 0 and cross > 0:
            return Enter(view.symbol, position_fraction(self.risk, prob=None, payoff=None))
        if view.position > 0 and cross < 0:
            return Exit(view.symbol)
        return None

    def vector_rules(self, signals: pd.DataFrame) -> VectorRules:
        cross = signals["cross"].to_numpy(np.float64)
        n = len(cross)
        never = np.zeros(n, dtype=bool)
        frac = np.full(n, position_fraction(self.risk, prob=None, payoff=None))
        return VectorRules(
            enter_long=cross > 0,
            enter_short=never,
            exit_long=cross < 0,
            exit_short=never,
            frac_long=frac,
            frac_short=np.zeros(n),
            prob_long=np.full(n, np.nan),
            prob_short=np.full(n, np.nan),
        )
