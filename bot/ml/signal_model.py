"""One horizon's signal model: fit on outcome returns with the configured label, predict P(up).

Whatever the label, the strategy needs one number per bar: the probability that going long
pays (the outcome return is positive). ``SignalModel`` turns each label type into it:

- ``direction`` / ``triple_barrier``: a binary classifier of ``ret > 0``; P(up) is its probability.
- ``signal5``: the quantile cut points are fitted on the training rows in ``fit`` (learned state
  ``thresholds_``), a 5-class classifier predicts the class probabilities, and
  P(up) = sum_c P(c) * (share of positive returns in class c among the training rows).
- ``return``: a regressor predicts the return r; P(up) = Phi(r / sd), sd the standard deviation
  of the training returns (a conservative Gaussian mapping).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import norm
from sklearn.base import BaseEstimator

from bot.ml.estimators import build_classifier, build_regressor, feature_importance
from bot.ml.labels import classify, fit_thresholds
from bot.ml.selection import select_features


class SignalModel(BaseEstimator):
    """Fit ``X`` -> outcome return ``ret`` under a label type; ``prob_up(X)`` is P(ret > 0)."""

    def __init__(
        self,
        model_type: str = "xgboost",
        params: dict[str, Any] | None = None,
        label: str = "direction",
        calibration: str = "none",
        quantiles: tuple[float, ...] = (0.1, 0.35, 0.65, 0.9),
        seed: int = 0,
        selection: str = "none",
        k: int = 0,
    ):
        self.model_type = model_type
        self.params = params
        self.label = label
        self.calibration = calibration
        self.quantiles = quantiles
        self.seed = seed
        self.selection = selection
        self.k = k

    def _kept(self, X: np.ndarray) -> np.ndarray:
        support = getattr(self, "support_", None)  # models saved before selection existed have none
        return X if support is None else X[:, support]

    def fit(self, X: np.ndarray, ret: np.ndarray) -> SignalModel:
        """Fit on the training rows only (thresholds and scales included); return self."""
        ret = np.asarray(ret, dtype=np.float64)
        params = dict(self.params or {})
        # Feature selection sees the training rows only, like every other fitted step.
        self.support_ = select_features(X, ret, self.selection, self.k, self.seed)
        X = X[:, self.support_]
        if self.label == "return":
            self.scale_ = float(np.std(ret)) or 1e-12
            self.model_ = build_regressor(self.model_type, params, self.seed).fit(X, ret)
            return self
        if self.label == "signal5":
            self.thresholds_ = fit_thresholds(ret, list(self.quantiles))
            y = classify(ret, self.thresholds_).astype(int)
            self.classes_ = np.unique(y)
            up = ret > 0
            self.up_rate_ = np.array([up[y == c].mean() for c in self.classes_])
            target = np.searchsorted(self.classes_, y)
        else:
            target = (ret > 0).astype(int)
            self.classes_ = np.array([0, 1])
        self.model_ = build_classifier(self.model_type, params, self.seed, self.calibration).fit(X, target)
        return self

    def prob_up(self, X: np.ndarray) -> np.ndarray:
        """Return P(outcome return > 0) for each row."""
        X = self._kept(X)
        if self.label == "return":
            return norm.cdf(self.model_.predict(X) / self.scale_)
        proba = self.model_.predict_proba(X)
        if self.label == "signal5":
            return proba @ self.up_rate_
        return proba[:, 1]

    def predict_target(self, X: np.ndarray) -> np.ndarray:
        """Return the label-specific prediction: signal5 class (0..4), return, or 0/1 direction."""
        X = self._kept(X)
        if self.label == "return":
            return self.model_.predict(X)
        proba = self.model_.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)].astype(np.float64)

    def importance(self, n: int) -> np.ndarray:
        """Return the importance of each of the ``n`` input features (NaN for those not selected)."""
        support = getattr(self, "support_", np.ones(n, dtype=bool))
        out = np.full(n, np.nan)
        out[support] = feature_importance(self.model_, int(support.sum()))
        return out

    def target_of(self, ret: np.ndarray) -> np.ndarray:
        """Return the label-specific target of outcome returns, as this fitted model defines it."""
        ret = np.asarray(ret, dtype=np.float64)
        if self.label == "return":
            return ret
        if self.label == "signal5":
            return classify(ret, self.thresholds_)
        return np.where(np.isfinite(ret), (ret > 0).astype(np.float64), np.nan)
