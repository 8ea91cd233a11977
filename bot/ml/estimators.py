"""Build scikit-learn-compatible classifiers and regressors from ``model.type`` / ``model.params``.

Single models: ``xgboost``, ``random_forest``, ``logistic`` (a standardised ridge regression when
the label is ``return``), ``hist_gb``. Combinations: ``ensemble`` (soft voting with weights) and
``stacking`` (members' out-of-sample probabilities, from time-ordered inner splits, fed to a
logistic / ridge meta-model; ``model.calibration`` is not applied on top of it, the meta-model
is the calibrator). Combination params::

    members: {xgboost: 2, random_forest: 1, hist_gb: 1}   # member -> voting weight
    xgboost: {max_depth: 4}                                # optional overrides per member
    n_splits: 3                                            # stacking only: inner splits
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bot.errors import ConfigError
from bot.ml.stacking import TimeSeriesStackingClassifier, TimeSeriesStackingRegressor

DEFAULTS: dict[str, dict[str, Any]] = {
    "xgboost": dict(
        n_estimators=150,
        max_depth=3,
        learning_rate=0.05,
        subsample=0.8,
        colsample_bytree=0.8,
        min_child_weight=5,
        tree_method="hist",
        n_jobs=2,
        verbosity=0,
    ),
    "random_forest": dict(n_estimators=150, max_depth=6, min_samples_leaf=50, n_jobs=2),
    "logistic": dict(C=0.1, max_iter=2000),
    "hist_gb": dict(
        max_iter=150, learning_rate=0.05, max_depth=3, min_samples_leaf=50, l2_regularization=1.0, early_stopping=False
    ),
}
REGRESSOR_DEFAULTS: dict[str, dict[str, Any]] = dict(DEFAULTS, logistic=dict(alpha=10.0))
BASE_TYPES = tuple(DEFAULTS)
COMBINED_TYPES = ("ensemble", "stacking")
DEFAULT_MEMBERS: dict[str, float] = {"xgboost": 2.0, "random_forest": 1.0, "hist_gb": 1.0}

# Models that cannot take NaN features: rows with a NaN feature are dropped from training and get no prediction.
NAN_INTOLERANT = {"random_forest", "logistic"}


class _SerialPredict:
    """Predict with n_jobs=1: parallel forests add tree outputs in thread order, so the last bits vary."""

    def predict_proba(self, X):
        n_jobs, self.n_jobs = self.n_jobs, 1
        try:
            return super().predict_proba(X)
        finally:
            self.n_jobs = n_jobs

    def predict(self, X):
        n_jobs, self.n_jobs = self.n_jobs, 1
        try:
            return super().predict(X)
        finally:
            self.n_jobs = n_jobs


class DeterministicRandomForestClassifier(_SerialPredict, RandomForestClassifier):
    """RandomForestClassifier that trains in parallel but predicts bit-for-bit reproducibly."""


class DeterministicRandomForestRegressor(_SerialPredict, RandomForestRegressor):
    """RandomForestRegressor that trains in parallel but predicts bit-for-bit reproducibly."""


def _base_estimator(kind: str, seed: int, regression: bool = False):
    defaults = (REGRESSOR_DEFAULTS if regression else DEFAULTS).get(kind)
    if defaults is None:
        raise ConfigError("model.type", f"unknown model type {kind!r}")
    if kind == "xgboost":
        from xgboost import XGBClassifier, XGBRegressor

        return (XGBRegressor if regression else XGBClassifier)(random_state=seed, **defaults)
    classes = {
        "random_forest": (DeterministicRandomForestClassifier, DeterministicRandomForestRegressor),
        "logistic": (LogisticRegression, Ridge),
        "hist_gb": (HistGradientBoostingClassifier, HistGradientBoostingRegressor),
    }
    return classes[kind][int(regression)](random_state=seed, **defaults)


def _configured(kind: str, params: dict[str, Any], seed: int, regression: bool, where: str):
    est = _base_estimator(kind, seed, regression)
    valid = est.get_params()
    for key in params:
        if key not in valid:
            raise ConfigError(f"{where}.{key}", f"not a parameter of {type(est).__name__}")
    try:
        est.set_params(**params)
    except (TypeError, ValueError) as e:
        raise ConfigError(where, str(e).splitlines()[0]) from None
    if kind == "logistic":
        est = make_pipeline(StandardScaler(), est)
    return est


def members_of(params: dict[str, Any]) -> dict[str, float]:
    """Return the ensemble members and their weights from ``params`` (checked)."""
    raw = params.get("members", DEFAULT_MEMBERS)
    if isinstance(raw, list):
        raw = dict.fromkeys(raw, 1.0)
    if not isinstance(raw, dict) or not raw:
        raise ConfigError("model.params.members", "give a mapping of member type -> weight")
    out = {}
    for kind, weight in raw.items():
        if kind not in BASE_TYPES:
            raise ConfigError(
                f"model.params.members.{kind}", f"unknown member type (choose from {', '.join(BASE_TYPES)})"
            )
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            raise ConfigError(f"model.params.members.{kind}", f"weight must be a positive number, got {weight!r}")
        out[kind] = float(weight)
    return out


def _combined(kind: str, params: dict[str, Any], seed: int, regression: bool):
    members = members_of(params)
    allowed = {"members", *members} | ({"n_splits"} if kind == "stacking" else set())
    for key in params:
        if key not in allowed:
            raise ConfigError(
                f"model.params.{key}",
                f"not a {kind} parameter (use members, a member name"
                + (", n_splits" if kind == "stacking" else "")
                + ")",
            )
    estimators = []
    for i, member in enumerate(members):
        overrides = params.get(member, {})
        if not isinstance(overrides, dict):
            raise ConfigError(f"model.params.{member}", "must be a mapping of that member's parameters")
        estimators.append(
            (member, _configured(member, overrides, seed + 7919 * i, regression, f"model.params.{member}"))
        )
    weights = list(members.values())
    if kind == "ensemble":
        if regression:
            return VotingRegressor(estimators, weights=weights)
        return VotingClassifier(estimators, voting="soft", weights=weights)
    n_splits = params.get("n_splits", 3)
    if isinstance(n_splits, bool) or not isinstance(n_splits, int) or not 2 <= n_splits <= 20:
        raise ConfigError("model.params.n_splits", f"must be a whole number from 2 to 20, got {n_splits!r}")
    if regression:
        return TimeSeriesStackingRegressor(estimators, n_splits=n_splits)
    return TimeSeriesStackingClassifier(estimators, n_splits=n_splits)


def build_classifier(kind: str, params: dict[str, Any], seed: int, calibration: str = "none"):
    """Return an unfitted classifier; ``params`` override our defaults and are checked against the estimator."""
    if kind in COMBINED_TYPES:
        est = _combined(kind, params, seed, regression=False)
    else:
        est = _configured(kind, params, seed, False, "model.params")
    if calibration != "none" and kind != "stacking":
        # Time-ordered inner splits: the calibrator only ever sees rows later than those its model fitted on.
        # Stacking is left alone: its logistic meta-model, fitted out of sample, already calibrates.
        est = CalibratedClassifierCV(est, method=calibration, cv=TimeSeriesSplit(n_splits=3))
    return clone(est)


def build_regressor(kind: str, params: dict[str, Any], seed: int):
    """Return an unfitted regressor of the same family (for ``model.label: return``)."""
    if kind in COMBINED_TYPES:
        return clone(_combined(kind, params, seed, regression=True))
    return clone(_configured(kind, params, seed, True, "model.params"))


def is_nan_intolerant(kind: str, params: dict[str, Any]) -> bool:
    """Return True when the model (or any member) cannot take NaN features."""
    if kind in COMBINED_TYPES:
        return any(m in NAN_INTOLERANT for m in members_of(params))
    return kind in NAN_INTOLERANT


IMPORTANCE_KIND = {
    "xgboost": "gain",
    "random_forest": "impurity",
    "logistic": "abs_coef_standardized",
    "hist_gb": "none",
    "ensemble": "members_mean",
    "stacking": "members_mean",
}


def _unwrap(est):
    return est.steps[-1][1] if hasattr(est, "steps") else est


def _single_importance(est) -> np.ndarray | None:
    est = _unwrap(est)
    if hasattr(est, "feature_importances_"):
        return np.asarray(est.feature_importances_, dtype=float)
    if hasattr(est, "coef_"):
        coef = np.asarray(est.coef_, dtype=float)
        return np.abs(coef).mean(axis=0) if coef.ndim == 2 and coef.shape[0] > 1 else np.abs(coef).ravel()
    return None


def _members_importance(est) -> np.ndarray | None:
    vals = []
    for member in getattr(est, "estimators_", []):
        v = _single_importance(member)
        if v is not None and np.nansum(v) > 0:
            vals.append(v / np.nansum(v))
    return np.mean(vals, axis=0) if vals else None


def feature_importance(model, n: int) -> np.ndarray:
    """Return the fitted model's importance per feature (NaN when it has none), averaged over calibration folds."""
    calibrated = getattr(model, "calibrated_classifiers_", None)
    inner = [c.estimator for c in calibrated] if calibrated is not None else [model]
    vals = []
    for est in inner:
        est = _unwrap(est)
        combined = isinstance(
            est, VotingClassifier | VotingRegressor | TimeSeriesStackingClassifier | TimeSeriesStackingRegressor
        )
        v = _members_importance(est) if combined else _single_importance(est)
        if v is not None:
            vals.append(v)
    return np.mean(vals, axis=0) if vals else np.full(n, np.nan)
