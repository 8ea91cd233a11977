"""Drift: statistics by hand, fires at a regime change and not before, quiet on stationary series."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bot.config.lifecycle import DriftConfig
from bot.drift import stats
from bot.drift.detector import NO_DRIFT, DriftDecision, DriftLatch, decide_action, drift_report
from bot.drift.monitor import DriftMonitor, drift_timeline
from bot.features import compute_features, resolve_feature_names
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


def test_mean_standard_error_by_hand():
    v = np.array([1.0, 0.0, 1.0, 1.0])  # u = v - 0.75 = [0.25, -0.75, 0.25, 0.25], sum u^2 = 0.75
    assert stats.mean_standard_error(v) == pytest.approx(np.sqrt(0.75 / (1 - 1 / 4)) / 4)  # sd / sqrt(n)
    # two rows per bar: u = [1 + 0 - 1.5, 1 + 1 - 1.5] = [-0.5, 0.5]; 2 times
    assert stats.mean_standard_error(v, times=[7, 7, 9, 9]) == pytest.approx(np.sqrt(0.5 / (1 - 1 / 2)) / 4)
    # lag 1, equal weight: 0.75 + 2 (u1 u0 + u2 u1 + u3 u2) = 0.125 < 0.75 -> floored at 0.75; shrink 1 - 3/4
    assert stats.mean_standard_error(v, lags=1) == pytest.approx(np.sqrt(0.75 / 0.5) / 4)
    w = np.array([1.0, 1.0, 0.0, 0.0] * 2)  # u = +-0.5 in pairs: 2 + 2 * 0.25 (lag-1 products +-0.25, four +)
    assert stats.mean_standard_error(w, lags=1) == pytest.approx(np.sqrt(2.5 / (1 - 3 / 8)) / 8)
    assert np.isnan(stats.mean_standard_error([1.0]))


def _ar(rng, n: int, k: int, phi: float) -> np.ndarray:
    x = np.empty((n, k))
    x[0] = rng.standard_normal(k)
    e = rng.standard_normal((n, k)) * np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def _no_edge_scores(seed: int, bars: int, horizon: int = 5, symbols: int = 8) -> dict:
    """Scores of a model without edge, like a pooled model on real equities: symbols share a market
    factor, labels are overlapping ``horizon``-bar moves, P(up) is persistent and partly common."""
    rng = np.random.default_rng(seed)
    r = 0.7 * rng.standard_normal((bars + horizon, 1)) + 0.7 * rng.standard_normal((bars + horizon, symbols))
    fwd = np.lib.stride_tricks.sliding_window_view(r, horizon, axis=0).sum(axis=-1)[:bars]
    label = (fwd > 0).astype(float).T.ravel()
    prob = (0.5 + 0.03 * (0.7 * _ar(rng, bars, 1, 0.97) + 0.7 * _ar(rng, bars, symbols, 0.9))).T.ravel()
    return stats.scores(prob, label, times=np.tile(np.arange(bars), symbols), lags=horizon)


def test_standard_error_matches_the_spread_of_accuracy_across_samples():
    runs = [_no_edge_scores(seed, 126) for seed in range(200)]
    acc, se = [r["accuracy"] for r in runs], [r["accuracy_se"] for r in runs]
    iid = np.sqrt(0.25 / (126 * 8))
    assert np.std(acc) > 2 * iid  # dependence matters: the i.i.d. error would be far too small
    assert 0.85 < np.sqrt(np.mean(np.square(se))) / np.std(acc) < 1.15


def test_performance_decay_false_alarms_are_bounded_without_an_edge():
    """No edge, no change: a 126-bar evaluation promise, then a 63-bar live window. The margin alone
    fires often (correlated symbols, overlapping labels); margin + significance stays near alpha."""
    cfg = DriftConfig()
    fired = {"margin": 0, "margin+test": 0}
    runs = 200
    for seed in range(runs):
        promised, current = _no_edge_scores(seed, 126), _no_edge_scores(10_000 + seed, 63)
        for name, alpha in (("margin", 1.0), ("margin+test", cfg.performance_alpha)):
            out = stats.performance_decay(
                promised, current, cfg.max_brier_increase, cfg.max_accuracy_drop, cfg.min_samples, alpha
            )
            fired[name] += out["drift"]
    assert fired["margin"] / runs > 0.15, fired  # the problem this guards against is real here
    assert fired["margin+test"] / runs <= 0.08, fired


def test_performance_decay_without_a_sample_size_compares_with_a_fixed_promise():
    current = {"n": 400, "accuracy": 0.45, "brier": 0.26, "accuracy_se": 0.02, "brier_se": 0.004}
    out = stats.performance_decay({"accuracy": 0.6, "brier": 0.235}, current, 0.03, 0.05, 50, 0.05)
    assert out["drift"] and out["accuracy_pvalue"] < 1e-10  # 0.15 / 0.02 = 7.5 standard errors
    noisy = {**current, "accuracy": 0.54, "accuracy_se": 0.05}
    out = stats.performance_decay({"accuracy": 0.6, "brier": 0.26}, noisy, 0.03, 0.05, 50, 0.05)
    assert not out["drift"] and out["accuracy_pvalue"] == pytest.approx(0.115, abs=0.001)  # z = 1.2


def test_latch_lifts_drift_only_after_clean_checks_in_a_row():
    halt = DriftDecision(True, "halt_entries", halt_entries=True, reasons=("data drift",))
    latch = DriftLatch(clear_after=3)
    seen = [latch.update(d).drift for d in [NO_DRIFT, halt, NO_DRIFT, NO_DRIFT, halt, NO_DRIFT, NO_DRIFT, NO_DRIFT]]
    assert seen == [False, True, True, True, True, True, True, False]
    assert latch.update(halt) is halt and latch.clean_checks == 0
    latch.new_model()  # a new champion: its first clean check lifts the halt
    assert latch.update(NO_DRIFT) is NO_DRIFT and latch.update(NO_DRIFT) is NO_DRIFT
