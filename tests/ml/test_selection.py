"""Per-fold feature selection: it keeps the informative features, sees the training window only,
and inside a walk-forward run still finds a planted signal among many useless features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.ml.selection import select_features
from bot.ml.signal_model import SignalModel
from bot.ml.walkforward import run_validation
from tests.ml.helpers import ml_config, planted_bars


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 23))
    ret = 0.8 * X[:, 4] - 0.6 * X[:, 11] + 0.5 * X[:, 17] + rng.standard_normal(n)  # 3 informative columns
    return X, ret


@pytest.mark.parametrize("method", ["anova", "mutual_info"])
def test_the_informative_columns_are_kept(method):
    X, ret = _data()
    X[::7, 4] = np.nan  # missing values are ignored column by column
    mask = select_features(X, ret, method, k=3, seed=1)
    assert sorted(np.flatnonzero(mask)) == [4, 11, 17]
    assert select_features(X, ret, "none", k=3).all() and select_features(X, ret, method, k=50).all()


def test_selection_sees_only_the_rows_it_is_fitted_on():
    X, ret = _data(n=800, seed=2)
    late = np.arange(800) >= 400
    X[late, 20] = ret[late] * 3 + 0.01 * np.random.default_rng(0).standard_normal(late.sum())  # informative later only
    early = SignalModel("logistic", {}, "direction", seed=0, selection="anova", k=3).fit(X[:400], ret[:400])
    assert not early.support_[20] and sorted(np.flatnonzero(early.support_)) == [4, 11, 17]
    assert SignalModel("logistic", {}, "direction", seed=0, selection="anova", k=3).fit(X, ret).support_[20]
    # Changing rows after the training window changes neither the selection nor a prediction made before it.
    altered = X.copy()
    altered[400:] = np.random.default_rng(9).standard_normal((400, 23))
    again = SignalModel("logistic", {}, "direction", seed=0, selection="anova", k=3).fit(altered[:400], ret[:400])
    np.testing.assert_array_equal(again.support_, early.support_)
    np.testing.assert_array_equal(again.prob_up(X[:400]), early.prob_up(X[:400]))
    imp = early.importance(23)
    assert np.isnan(imp[~early.support_]).all() and np.isfinite(imp[early.support_]).all()


def test_walk_forward_with_selection_finds_the_planted_signal_among_useless_features():
    bars = planted_bars(symbols=3, n=900, seed=2, phi=-0.5)
    features = "[ret_1, rsi_14, day_of_week, month, day_of_month, volume_z_20, ret_10, bb_width_20]"
    cfg = ml_config(model__features=features, model__selection="{method: anova, k: 2}")
    res = run_validation(bars, cfg)
    assert res.metrics["accuracy"] > 0.6 and res.metrics["roc_auc"] > 0.65
    imp = res.importance.set_index("feature")
    assert imp.loc["ret_1", "selected_share"] == 1.0  # every fold kept the planted feature
    assert imp["selected_share"].sum() == pytest.approx(2.0)  # k features per fold
    assert pd.isna(imp.loc[imp["selected_share"] == 0, "importance"]).all()
