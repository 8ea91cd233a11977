"""A deployable model: one fitted SignalModel per horizon plus what it needs to predict from bars.

``TrainedModel`` is what the registry stores, retraining compares and a live session trades on.
``predict_bars`` computes the model's own feature list from bars (causal features), so a champion
keeps predicting with the features it was trained on even after the config's feature list changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bot.features import compute_features
from bot.ml.horizons import combine_horizons

if TYPE_CHECKING:
    from bot.ml.signal_model import SignalModel


@dataclass
class TrainedModel:
    """Fitted models (horizon -> SignalModel) and the facts needed to use and audit them."""

    models: dict[int, SignalModel]
    features: list[str]
    combine: str = "all_agree"
    nan_intolerant: bool = False
    info: dict = field(default_factory=dict)  # manifest facts: type, params, label, training window, metrics...

    @property
    def horizons(self) -> list[int]:
        return list(self.models)

    def prob_up_by_horizon(self, X: np.ndarray) -> np.ndarray:
        """Return P(up) per row and horizon (columns in ``horizons`` order; NaN where features are unusable)."""
        X = np.asarray(X, dtype=np.float64)
        bad = np.isnan(X).any(axis=1) if self.nan_intolerant else np.isnan(X).all(axis=1)
        out = np.full((len(X), len(self.models)), np.nan)
        ok = ~bad
        if ok.any():
            for j, model in enumerate(self.models.values()):
                out[ok, j] = model.prob_up(X[ok])
        return out

    def prob_up(self, X: np.ndarray) -> np.ndarray:
        """Return the combined P(up) per row of the feature matrix (NaN where features are unusable)."""
        return combine_horizons(self.prob_up_by_horizon(X), self.combine)

    def feature_frame(self, bars: pd.DataFrame, context: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
        """Return this model's features computed on one symbol's bars (causal, warm-up rows NaN)."""

        return compute_features(bars, self.features, context=context)

    def predict_bars(
        self, bars: Mapping[str, pd.DataFrame], context: Mapping[str, pd.DataFrame] | None = None
    ) -> pd.DataFrame:
        """Return ``timestamp, symbol, prob_up`` for every bar of every symbol (one batch per symbol)."""
        ctx = dict(context or bars)
        parts = []
        for sym, df in bars.items():
            X = self.feature_frame(df, ctx).to_numpy(np.float64)
            parts.append(pd.DataFrame({"timestamp": df.index, "symbol": sym, "prob_up": self.prob_up(X)}))
        if not parts:
            return pd.DataFrame({"timestamp": [], "symbol": [], "prob_up": []})
        return pd.concat(parts, ignore_index=True)
