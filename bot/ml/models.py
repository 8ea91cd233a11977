"""Build scikit-learn-compatible classifiers from ``model.type`` / ``model.params``."""

from __future__ import annotations

from typing import Any

from sklearn.base import ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bot.errors import ConfigError

DEFAULTS: dict[str, dict[str, Any]] = {
    "xgboost": dict(
        n_estimators=150, max_depth=3, learning_rate=0.05, subsample=0.8, colsample_bytree=0.8,
        min_child_weight=5, tree_method="hist", n_jobs=2, verbosity=0,
    ),
    "random_forest": dict(n_estimators=150, max_depth=6, min_samples_leaf=50, n_jobs=2),
    "logistic": dict(C=0.1, max_iter=2000),
}

# Models that cannot take NaN features: rows with a NaN feature are dropped from training and get no prediction.
NAN_INTOLERANT = {"random_forest", "logistic"}


def _base_estimator(kind: str, seed: int) -> ClassifierMixin:
    if kind == "xgboost":
        from xgboost import XGBClassifier

        return XGBClassifier(random_state=seed, **DEFAULTS[kind])
    if kind == "random_forest":
        return RandomForestClassifier(random_state=seed, **DEFAULTS[kind])
    if kind == "logistic":
        return LogisticRegression(random_state=seed, **DEFAULTS[kind])
    raise ConfigError("model.type", f"unknown model type {kind!r}")


def build_classifier(kind: str, params: dict[str, Any], seed: int, calibration: str = "none"):
    """Return an unfitted classifier; ``params`` override our defaults and are checked against the estimator."""
    est = _base_estimator(kind, seed)
    valid = est.get_params()
    for key in params:
        if key not in valid:
            raise ConfigError(f"model.params.{key}", f"not a parameter of {type(est).__name__}")
    try:
        est.set_params(**params)
    except (TypeError, ValueError) as e:
        raise ConfigError("model.params", str(e).splitlines()[0]) from None
    if kind == "logistic":
        est = make_pipeline(StandardScaler(), est)
    if calibration != "none":
        # Time-ordered inner splits: the calibrator only ever sees rows later than those its model fitted on.
        est = CalibratedClassifierCV(est, method=calibration, cv=TimeSeriesSplit(n_splits=3))
    return clone(est)
