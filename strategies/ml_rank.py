"""Cross-sectional ML ranking: long the top ``long_k`` symbols by model score, short the bottom ``short_k``.

The score is the walk-forward model's out-of-sample P(outperform): with ``model.label:
excess_return`` a pooled classifier of sign(forward return - cross-section mean forward return).
At each rebalance the symbols with a score are ranked (ties by symbol name); each leg gets
``risk.max_gross / legs`` of equity, split equally or in proportion to 1 / volatility (the causal
standard deviation of one-bar log returns over ``vol_lookback`` bars).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from bot.analytics.performance import periods_per_year
from bot.config import ModelConfig
from bot.ml.labels import causal_volatility
from bot.ml.rank import rank_report
from strategies.base import PortfolioParams, PortfolioStrategy, PortfolioView


class MlRankParams(PortfolioParams):
    rebalance_every: int = Field(default=5, ge=1, le=10_000)
    long_k: int = Field(default=5, ge=0, le=1000)
    short_k: int = Field(default=0, ge=0, le=1000)
    weighting: Literal["equal", "inverse_vol"] = "equal"
    vol_lookback: int = Field(default=60, ge=2, le=1000)

    @model_validator(mode="after")
    def _some_leg(self) -> MlRankParams:
        if self.long_k + self.short_k < 1:
            raise ValueError("long_k + short_k must be at least 1")
        return self


class MlRankStrategy(PortfolioStrategy):
    """Rank by out-of-sample P(outperform); hold the top long_k long and the bottom short_k short."""

    Params = MlRankParams
    params: MlRankParams  # the instance built from Params (typed for the checker)
    signal_columns = ("score", "vol")
    uses_model = True

    def __init__(self, params: MlRankParams, risk, model: ModelConfig | None = None):
        super().__init__(params, risk, model)
        self.horizon = self.horizons[0]

    def sells_short(self) -> bool:
        return self.params.short_k > 0

    def warmup_bars(self) -> int:
        return self.params.vol_lookback + 1

    def compute_signals(self, bars: pd.DataFrame, prob: pd.Series | None) -> pd.DataFrame:
        score = prob.reindex(bars.index) if prob is not None else np.nan
        vol = causal_volatility(bars["close"], self.params.vol_lookback)
        return pd.DataFrame({"score": score, "vol": vol}, index=bars.index, dtype="float64")

    def target_weights(self, view: PortfolioView) -> dict[str, float]:
        p = self.params
        usable = {
            s: sig
            for s, sig in view.signals.items()
            if np.isfinite(sig["score"]) and (p.weighting == "equal" or (np.isfinite(sig["vol"]) and sig["vol"] > 0))
        }
        if len(usable) < p.long_k + p.short_k:
            return {}
        ranked = sorted(usable, key=lambda s: (-usable[s]["score"], s))
        legs = (p.long_k > 0) + (p.short_k > 0)
        out = self._leg(ranked[: p.long_k], usable, self.risk.max_gross / legs)
        if p.short_k:
            out.update(self._leg(ranked[-p.short_k :], usable, -self.risk.max_gross / legs))
        return out

    def _leg(self, symbols: list[str], signals: Mapping[str, Mapping[str, float]], total: float) -> dict[str, float]:
        if not symbols:
            return {}
        if self.params.weighting == "equal":
            raw = {s: 1.0 for s in symbols}
        else:
            raw = {s: 1.0 / signals[s]["vol"] for s in symbols}
        norm = sum(raw.values())
        return {s: total * w / norm for s, w in raw.items()}

    def extra_metrics(self, walk_forward, bars, calendar, config) -> dict:
        """Return the out-of-sample ``rank`` section (bot.ml.rank) on this strategy's rebalance grid."""

        if walk_forward is None or not len(walk_forward.predictions):
            return {}
        p = self.params
        return {
            "rank": rank_report(
                walk_forward.predictions,
                bars,
                calendar,
                self.horizon,
                p.rebalance_every,
                self.warmup_bars() - 1,
                p.long_k or p.short_k,
                p.short_k or p.long_k,
                periods_per_year(calendar),
            )
        }
