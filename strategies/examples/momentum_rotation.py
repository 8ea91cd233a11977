"""Example portfolio strategy: cross-sectional momentum rotation.

Every ``rebalance_every`` bars, rank the symbols by their return from ``lookback`` bars ago to ``skip``
bars ago (the classic 12-1 month momentum on daily bars: 252 and 21) and hold the ``top_k`` strongest
in equal weights; symbols that drop out of the top are sold. The engine turns the weights into orders
(sells before buys, one cash account, next-open fills with costs); ``risk.max_gross`` caps the sum of
the weights. With ``bottom_k`` > 0 the weakest are shorted too (half the gross on each side).

Load it by path: ``strategy.name: ../../strategies/examples/momentum_rotation.py:MomentumRotation``.
"""

from __future__ import annotations

import math

import pandas as pd
from pydantic import Field, model_validator

from strategies.base import PortfolioParams, PortfolioStrategy, PortfolioView


class MomentumRotationParams(PortfolioParams):
    rebalance_every: int = Field(default=21, ge=1)
    lookback: int = Field(default=252, ge=2)
    skip: int = Field(default=21, ge=0)
    top_k: int = Field(default=2, ge=1)
    bottom_k: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _skip_below_lookback(self) -> MomentumRotationParams:
        if self.skip >= self.lookback:
            raise ValueError(f"skip ({self.skip}) must be smaller than lookback ({self.lookback})")
        return self


class MomentumRotation(PortfolioStrategy):
    """Hold the top_k symbols by momentum (and short the bottom_k), rebalanced every rebalance_every bars."""

    Params = MomentumRotationParams
    params: MomentumRotationParams  # the instance built from Params (typed for the checker)
    signal_columns = ("momentum",)

    def sells_short(self) -> bool:
        return self.params.bottom_k > 0

    def warmup_bars(self) -> int:
        return self.params.lookback + 1

    def compute_signals(self, bars: pd.DataFrame, prob: pd.Series | None) -> pd.DataFrame:
        close = bars["close"]
        momentum = close.shift(self.params.skip) / close.shift(self.params.lookback) - 1.0
        return pd.DataFrame({"momentum": momentum}, index=bars.index, dtype="float64")

    def target_weights(self, view: PortfolioView) -> dict[str, float]:
        scores = {s: sig["momentum"] for s, sig in view.signals.items() if not math.isnan(sig["momentum"])}
        ranked = sorted(scores, key=lambda s: (-scores[s], s))  # ties by name: deterministic
        p = self.params
        longs = ranked[: p.top_k]
        shorts = [s for s in ranked[::-1][: p.bottom_k] if s not in longs]
        side = self.risk.max_gross / (2 if shorts else 1)
        weights = {s: side / len(longs) for s in longs}
        weights.update({s: -side / len(shorts) for s in shorts})
        return weights
