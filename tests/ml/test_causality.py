"""Altering data after T leaves every feature, training label, prediction and metric before T unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.ml.dataset import build_dataset
from bot.ml.summary import summarize
from bot.ml.walkforward import run_validation
from tests.ml.helpers import ml_config, planted_bars

T_POS = 502  # just inside the fold that tests 500..549: its purge is what keeps it causal


def _alter_after(bars: dict[str, pd.DataFrame], t: pd.Timestamp) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(99)
    out = {}
    for sym, df in bars.items():
        df = df.copy()
        after = df.index >= t
        shock = np.exp(np.cumsum(rng.normal(0.003, 0.03, int(after.sum()))))
        for col in ("open", "high", "low", "close"):
            df.loc[after, col] = df.loc[after, col].to_numpy() * shock
        df.loc[after, "volume"] = df.loc[after, "volume"].to_numpy() * 3
        out[sym] = df
    return out


@pytest.fixture(scope="module")
def pair():
    bars = planted_bars(symbols=2, n=800, seed=5)
    t = next(iter(bars.values())).index[T_POS]
    return bars, _alter_after(bars, t), t


CASES = [
    dict(model__label="direction", model__type="xgboost", model__params="{n_estimators: 20}"),
    dict(model__label="signal5"),
    dict(model__label="return"),
    dict(model__label="triple_barrier", model__horizon="5"),
    dict(model__label="direction", model__horizon="[1, 5]", model__horizon_combine="all_agree"),
    dict(model__label="direction", model__selection="{method: anova, k: 2}"),  # selection fitted per fold
]


@pytest.mark.parametrize(
    "sets",
    CASES,
    ids=lambda s: (
        f"{s['model__label']}-h{s.get('model__horizon', 1)}" + ("-selection" if "model__selection" in s else "")
    ),
)
def test_features_training_labels_predictions_and_metrics_before_t_are_unchanged(pair, sets):
    bars, altered, t = pair
    cfg = ml_config(validation__embargo="0", **sets)  # no embargo: the purge alone must keep it causal
    ds_a, ds_b = build_dataset(bars, cfg), build_dataset(altered, cfg)
    before = (ds_a.frame["timestamp"] < t).to_numpy()
    np.testing.assert_array_equal(ds_a.X[before], ds_b.X[before])  # features
    for h in cfg.model.horizons:
        known = before & (ds_a.frame[f"end_h{h}"].to_numpy() < T_POS)  # labels a model trained before T can use
        assert known.sum() > 400
        for col in (f"ret_h{h}", f"up_h{h}", f"end_h{h}"):
            np.testing.assert_array_equal(ds_a.frame[col].to_numpy()[known], ds_b.frame[col].to_numpy()[known])
    ra, rb = run_validation(bars, cfg), run_validation(altered, cfg)
    pa, pb = ra.predictions, rb.predictions
    inputs = [c for c in pa.columns if c.startswith(("prob_up", "prediction", "target_pred", "fold"))]
    early_a, early_b = pa[pa["timestamp"] < t], pb[pb["timestamp"] < t]
    assert len(early_a) > 200
    pd.testing.assert_frame_equal(early_a[["timestamp", "symbol", *inputs]], early_b[["timestamp", "symbol", *inputs]])
    # Metrics over predictions whose outcomes (label end, next bar) are all known before T are unchanged.
    settled = pa["timestamp"] < ds_a.calendar[T_POS - max(cfg.model.horizons) - 1]
    settled_b = pb["timestamp"] < ds_a.calendar[T_POS - max(cfg.model.horizons) - 1]
    assert summarize(pa[settled], cfg, 252) == summarize(pb[settled_b], cfg, 252)
    done = ra.folds["test_end"] < ds_a.calendar[T_POS - max(cfg.model.horizons) - 1]
    assert done.sum() >= 3
    pd.testing.assert_frame_equal(ra.folds[done], rb.folds[done.to_numpy()[: len(rb.folds)]])
    # ... and the future really changed, or this test could not fail.
    assert not pa[pa["timestamp"] >= t]["prob_up"].equals(pb[pb["timestamp"] >= t]["prob_up"])


def test_purged_kfold_keeps_features_and_labels_causal_but_its_models_see_the_future(pair):
    """Why backtests must not trade on k-fold predictions: early test folds train on later data."""
    bars, altered, t = pair
    cfg = ml_config(validation__scheme="purged_kfold", validation__n_splits=4)
    pa, pb = run_validation(bars, cfg).predictions, run_validation(altered, cfg).predictions
    early = pa["timestamp"] < t
    assert not np.allclose(pa.loc[early, "prob_up"], pb.loc[pb["timestamp"] < t, "prob_up"])


def test_multi_horizon_predictions_carry_one_probability_per_horizon(pair):
    bars, _, _ = pair
    for how in ("all_agree", "mean", "first"):
        cfg = ml_config(model__horizon="[1, 5]", model__horizon_combine=how)
        pred = run_validation(bars, cfg).predictions
        p1, p5, p = pred["prob_up_h1"].to_numpy(), pred["prob_up_h5"].to_numpy(), pred["prob_up"].to_numpy()
        if how == "mean":
            np.testing.assert_allclose(p, (p1 + p5) / 2)
        elif how == "first":
            np.testing.assert_array_equal(p, p1)
        else:
            agree_up = (p1 > 0.5) & (p5 > 0.5)
            np.testing.assert_allclose(p[agree_up], np.minimum(p1, p5)[agree_up])
            split = (p1 > 0.5) != (p5 > 0.5)
            assert split.any() and np.all(p[split] == 0.5)
