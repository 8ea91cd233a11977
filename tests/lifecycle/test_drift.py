"""Drift: statistics by hand, fires at a regime change and not before, quiet on stationary series."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bot.drift import stats
from bot.drift.detector import DriftDecision, decide_action, drift_report
from bot.drift.monitor import DriftMonitor, drift_timeline
from bot.features import compute_features, resolve_feature_names
from bot.models.lifecycle_config import DriftConfig
from strategies.base import Enter, Exit
from tests.lifecycle.gen import ar_bars

STARTER = resolve_feature_names("starter")
CHANGE = 1000


def test_psi_by_hand_and_ks_effective_size():
    ref = np.repeat([0.0, 1.0], 500)  # two bins by the median edge: shares 0.5 / 0.5
    cur = np.repeat([0.0, 1.0], [200, 800])  # shares 0.2 / 0.8
    expected = (0.2 - 0.5) * np.log(0.2 / 0.5) + (0.8 - 0.5) * np.log(0.8 / 0.5)
    assert stats.psi(ref, cur, bins=2) == pytest.approx(expected)
    assert stats.psi(ref, ref, bins=10) == 0.0
    assert np.isnan(stats.psi([], cur))
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=500), rng.normal(0.3, 1, size=100)
    d, p_iid = stats.ks(a, b)
    d2, p_corr = stats.ks(a, b, rho=0.9)
    assert d == d2 and p_iid < 0.01 < p_corr  # persistence shrinks the evidence
    assert stats.effective_size(100, 0.9) == pytest.approx(100 * 0.1 / 1.9)
    walk = np.cumsum(rng.normal(size=1000))
    assert stats.lag1_autocorrelation(walk) > 0.95 and stats.lag1_autocorrelation(rng.normal(size=1000)) < 0.1


def _timeline(seed: int, vol_after: float, cfg: DriftConfig, step: int = 5) -> pd.DataFrame:
    vol = np.where(np.arange(1300) < CHANGE, 0.01, vol_after)
    feats = compute_features(ar_bars(1300, 0.0, vol, seed=seed), STARTER)
    return drift_timeline(feats, (300, 800), cfg, step)


@pytest.mark.parametrize("seed", range(4))
def test_fires_at_a_regime_change_and_not_before(seed):
    cfg = DriftConfig(window=63)
    tl = _timeline(seed, 0.03, cfg)
    before = tl[tl["end"] <= CHANGE]  # windows made only of bars before the change
    assert len(before) >= 25 and not before["drift"].any()
    first = tl.loc[tl["drift"], "end"].min()
    assert CHANGE < first <= CHANGE + cfg.window + 20, first  # within about one window of the change
    assert tl.loc[tl["end"] >= CHANGE + 2 * cfg.window, "drift"].mean() > 0.6  # and mostly stays on


def test_stationary_series_stay_quiet():
    cfg = DriftConfig(window=63)
    alarms = [_timeline(seed, 0.01, cfg, step=10)["drift"] for seed in range(10, 22)]
    rate = float(pd.concat(alarms).mean())
    assert rate <= 0.02, f"false-alarm rate {rate:.3f} over {sum(len(a) for a in alarms)} windows"


def test_decision_applies_the_configured_action():
    report = {"drift": True, "reasons": ["data drift"]}
    assert decide_action({"drift": False}, DriftConfig(action="halt_entries")) == DriftDecision()
    halt = decide_action(report, DriftConfig(action="halt_entries"))
    scale = decide_action(report, DriftConfig(action="scale_down", scale_factor=0.25))
    retrain = decide_action(report, DriftConfig(action="retrain"))
    alert = decide_action(report, DriftConfig(action="alert"))
    enter, exit_ = Enter("AAA", 0.2, prob=0.6), Exit("AAA")
    assert halt.apply(enter) is None and halt.apply(exit_) is exit_
    assert scale.apply(enter).fraction == pytest.approx(0.05) and scale.apply(enter).prob == 0.6
    assert retrain.retrain and retrain.apply(enter) is enter and not retrain.halt_entries
    assert alert.drift and alert.action == "alert" and alert.apply(enter) is enter and alert.position_scale == 1.0
    assert DriftDecision().apply(None) is None


class _FakeModel:
    """A momentum rule as a 'model': P(up) rises with the last return (what the momentum regime rewards)."""

    features = ["ret_1"]
    horizons = [1]
    info = {"label": "direction", "metrics": {"accuracy": 0.6, "brier": 0.235}}

    def prob_up(self, X):
        return 1 / (1 + np.exp(-80 * np.nan_to_num(X[:, 0], nan=0.0)))

    def feature_frame(self, bars, context=None):
        return compute_features(bars, self.features)


def test_performance_decay_and_prediction_drift_after_the_edge_flips():
    phi = np.where(np.arange(900) < 600, 0.4, -0.4)  # momentum, then mean reversion
    bars = {"AAA": ar_bars(900, phi, seed=4), "BBB": ar_bars(900, phi, seed=5)}
    model = _FakeModel()
    idx = bars["AAA"].index
    model.info = {**model.info, "training": {"start": str(idx[100]), "end": str(idx[500])}}
    monitor = DriftMonitor.for_model(model, bars, DriftConfig(window=100, action="scale_down"))
    report, decision = monitor.check(bars)
    perf = report["performance"]
    assert perf["available"] and perf["drift"] and perf["current"]["accuracy"] < 0.5
    assert any("accuracy" in r for r in perf["reasons"]) and decision.position_scale == 0.5
    assert not report["prediction"]["available"] and "out-of-sample" in report["prediction"]["reason"]
    early, _ = monitor.check({s: b.iloc[:560] for s, b in bars.items()})  # still in the momentum regime
    assert not early["performance"]["drift"] and not early["drift"], early["reasons"]


def test_drift_report_is_json_ready_and_names_unavailable_parts():
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    cur = pd.DataFrame({"a": rng.normal(3, 1, size=100), "b": rng.normal(size=100)})
    report = drift_report(ref, cur, DriftConfig())
    assert report["drift"] and report["data"]["drifted_features"] == ["a"]
    assert report["prediction"] == {"available": False, "drift": False, "reason": "no model predictions"}
    json.dumps(report)
