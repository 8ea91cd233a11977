"""Model factory: every type follows scikit-learn conventions; ensembles weigh members; stacking is time-ordered."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier

from bot.errors import ConfigError
from bot.ml.estimators import (
    build_classifier,
    build_regressor,
    feature_importance,
    is_nan_intolerant,
)
from bot.ml.stacking import TimeSeriesStackingClassifier

FAST = {
    "xgboost": {"n_estimators": 10},
    "random_forest": {"n_estimators": 10},
    "logistic": {},
    "hist_gb": {"max_iter": 10},
    "ensemble": {
        "members": {"xgboost": 2, "random_forest": 1, "hist_gb": 1},
        "xgboost": {"n_estimators": 10},
        "random_forest": {"n_estimators": 10},
        "hist_gb": {"max_iter": 10},
    },
    "stacking": {"members": ["xgboost", "logistic"], "xgboost": {"n_estimators": 10}},
}


def _data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


@pytest.mark.parametrize("kind", list(FAST))
@pytest.mark.parametrize("calibration", ["none", "sigmoid"])
def test_every_classifier_fits_and_predicts_probabilities(kind, calibration):
    X, y = _data()
    est = build_classifier(kind, FAST[kind], seed=1, calibration=calibration)
    assert clone(est).get_params().keys() == est.get_params().keys()  # plain sklearn estimator: clonable
    est.fit(X[:300], y[:300])
    p = est.predict_proba(X[300:])
    assert p.shape == (100, 2) and np.allclose(p.sum(axis=1), 1)
    assert np.mean((p[:, 1] >= 0.5) == y[300:]) > 0.7  # it learns the planted rule
    imp = feature_importance(est, 4)
    if kind != "hist_gb":
        assert np.nanargmax(imp) == 0  # the informative feature ranks first


@pytest.mark.parametrize("kind", list(FAST))
def test_every_regressor_fits(kind):
    X, _ = _data()
    ret = 0.01 * X[:, 0] + np.random.default_rng(3).normal(0, 0.003, len(X))
    est = build_regressor(kind, FAST[kind], seed=1).fit(X[:300], ret[:300])
    assert np.corrcoef(est.predict(X[300:]), ret[300:])[0, 1] > 0.7


def test_ensemble_is_a_weighted_soft_vote():
    X, y = _data()
    est = build_classifier("ensemble", FAST["ensemble"], seed=0)
    assert isinstance(est, VotingClassifier) and est.voting == "soft" and est.weights == [2.0, 1.0, 1.0]
    est.fit(X, y)
    members = np.stack([m.predict_proba(X[:5]) for m in est.estimators_])
    expected = np.average(members, axis=0, weights=[2, 1, 1])
    np.testing.assert_allclose(est.predict_proba(X[:5]), expected)


def test_stacking_meta_model_sees_only_later_out_of_sample_rows():
    X, y = _data(300)
    seen = []
    est = build_classifier("stacking", FAST["stacking"], seed=0)
    assert isinstance(est, TimeSeriesStackingClassifier)
    from bot.ml import stacking

    original = stacking._inner_predictions

    def spy(estimators, X_, y_, n_splits, predict, complete):
        out = original(estimators, X_, y_, n_splits, predict, complete)
        seen.append(len(out[1]))
        return out

    stacking._inner_predictions = spy
    try:
        est.fit(X, y)
    finally:
        stacking._inner_predictions = original
    # TimeSeriesSplit(3) on 300 rows tests the last 3 x 75 rows: the first 75 never feed the meta-model.
    assert seen == [225]
    assert est.predict_proba(X[:3]).shape == (3, 2)


def test_model_params_are_checked_and_errors_name_the_key():
    with pytest.raises(ConfigError, match="model.params.max_dpth"):
        build_classifier("xgboost", {"max_dpth": 3}, 0)
    with pytest.raises(ConfigError, match="model.params.members.svm"):
        build_classifier("ensemble", {"members": {"svm": 1}}, 0)
    with pytest.raises(ConfigError, match="model.params.members.xgboost: weight must be a positive number"):
        build_classifier("ensemble", {"members": {"xgboost": 0}}, 0)
    with pytest.raises(ConfigError, match="model.params.xgboost.depth"):
        build_classifier("ensemble", {"members": {"xgboost": 1}, "xgboost": {"depth": 2}}, 0)
    with pytest.raises(ConfigError, match="model.params.n_splits"):
        build_classifier("ensemble", {"n_splits": 3}, 0)


def test_nan_tolerance_follows_the_members():
    assert not is_nan_intolerant("xgboost", {})
    assert not is_nan_intolerant("hist_gb", {})
    assert is_nan_intolerant("logistic", {})
    assert is_nan_intolerant("ensemble", {})  # the default members include random_forest
    assert not is_nan_intolerant("ensemble", {"members": {"xgboost": 1, "hist_gb": 1}})
