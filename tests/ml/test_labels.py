"""Labels: direction, signal5 thresholds fitted on training rows only, return, triple barrier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.ml.labels import (
    causal_volatility,
    classify,
    direction_label,
    fit_thresholds,
    outcomes,
    triple_barrier,
)
from bot.ml.signal_model import SignalModel


def _close(values) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=pd.bdate_range("2020-01-01", periods=len(values)))


def test_direction_outcome_matches_direction_label_and_ends_h_bars_later():
    close = _close([10, 11, 10.5, 10.5, 12, 11])
    out = outcomes(close, 2, "direction")
    expected = direction_label(close, 2)
    assert out["up"].equals(expected)
    assert list(out["up"].iloc[:4]) == [1.0, 0.0, 1.0, 1.0]
    assert list(out["end"].iloc[:4]) == [2.0] * 4 and out["end"].iloc[4:].isna().all()
    assert out["ret"].iloc[0] == pytest.approx(10.5 / 10 - 1)


def test_causal_volatility_uses_past_closes_only():
    close = _close(100 * np.exp(np.cumsum([0, 0.01, -0.02, 0.03, 0.01, -0.01])))
    vol = causal_volatility(close, 3)
    assert vol.iloc[:3].isna().all()
    assert vol.iloc[3] == pytest.approx(np.std([0.01, -0.02, 0.03], ddof=1))
    changed = close.copy()
    changed.iloc[5] *= 2
    assert causal_volatility(changed, 3).iloc[:5].equals(vol.iloc[:5])


def test_triple_barrier_by_hand():
    # Log returns alternate +-1 % for the warm-up, so vol_4 = std([.01, -.01, .01, -.01]) = 0.011547.
    warm = [0.01, -0.01, 0.01, -0.01]
    path = [0.0, 0.002, 0.05, -0.2, 0.0, 0.0, 0.0, 0.001, -0.001, 0.0005]
    close = _close(100 * np.exp(np.cumsum([0.0, *warm, *path[1:]])))
    tb = triple_barrier(close, horizon=4, profit_take=1.0, stop_loss=2.0, vol_window=4)
    width = np.std(warm, ddof=1) * 2  # * sqrt(horizon 4)
    t = 4  # first bar with a defined volatility
    c = close.to_numpy()
    # From t: +0.2 % after 1 bar (inside), then +5.2 % after 2 bars >= +2.3 %: upper barrier, ends at 2.
    assert tb["end"].iloc[t] == 2 and tb["ret"].iloc[t] == pytest.approx(c[t + 2] / c[t] - 1)
    assert c[t + 2] / c[t] - 1 >= width
    # From t+2 the -20 % bar breaks the lower barrier (-4.6 %) after 1 bar.
    assert tb["end"].iloc[t + 2] == 1 and tb["ret"].iloc[t + 2] < -2 * width
    # Quiet bars: nothing is touched, the time barrier (4 bars) ends the label.
    q = t + 5
    assert tb["end"].iloc[q] == 4 and tb["ret"].iloc[q] == pytest.approx(c[q + 4] / c[q] - 1)
    assert tb.iloc[:t].isna().all().all()  # no volatility yet
    assert tb["end"].iloc[-1:].isna().all()  # the future is unknown


def _slow_triple_barrier(c, h, pt, sl, vol):
    out = []
    for t in range(len(c)):
        if not np.isfinite(vol[t]):
            out.append((np.nan, np.nan))
            continue
        w = vol[t] * np.sqrt(h)
        res = (np.nan, np.nan)
        for k in range(1, h + 1):
            if t + k >= len(c):
                break
            r = c[t + k] / c[t] - 1
            if r >= pt * w or r <= -sl * w or k == h:
                res = (r, k)
                break
        out.append(res)
    return np.array(out)


def test_triple_barrier_matches_a_plain_loop_on_a_random_path():
    rng = np.random.default_rng(5)
    close = _close(100 * np.exp(np.cumsum(rng.normal(0, 0.02, 300))))
    tb = triple_barrier(close, 10, 1.5, 0.7, 15)
    ref = _slow_triple_barrier(close.to_numpy(), 10, 1.5, 0.7, causal_volatility(close, 15).to_numpy())
    np.testing.assert_allclose(tb[["ret", "end"]].to_numpy(), ref, equal_nan=True)
    ends = tb["end"].dropna()
    assert ends.min() >= 1 and ends.max() == 10 and (ends < 10).mean() > 0.3  # barriers do end labels early


def test_signal5_classes_and_thresholds():
    th = np.array([-0.02, -0.005, 0.005, 0.02])
    assert list(classify(np.array([-0.05, -0.01, 0.0, 0.01, 0.05, np.nan]), th)[:5]) == [0, 1, 2, 3, 4]
    assert np.isnan(classify(np.array([np.nan]), th)[0])
    assert list(fit_thresholds(np.array([1.0, 2, 3, 4, 5, np.nan]), [0.25, 0.5, 0.75, 0.9])) == [2, 3, 4, 4.6]


def test_signal5_thresholds_come_from_the_training_rows_only():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    ret = rng.normal(0, 0.01, 400)
    q = (0.1, 0.35, 0.65, 0.9)
    model = SignalModel("logistic", {}, "signal5", "none", q, seed=0).fit(X[:300], ret[:300])
    np.testing.assert_allclose(model.thresholds_, np.quantile(ret[:300], q))
    assert not np.allclose(model.thresholds_, np.quantile(ret, q))
    # Test rows are classified with the training cut points.
    np.testing.assert_array_equal(model.target_of(ret[300:]), classify(ret[300:], model.thresholds_))
    p = model.prob_up(X[300:])
    assert p.shape == (100,) and np.all((p >= 0) & (p <= 1))
    # P(up) weights each class by its training up-rate: STRONG_SELL never rose, STRONG_BUY always did.
    assert model.up_rate_[0] == 0.0 and model.up_rate_[-1] == 1.0


def test_return_label_probability_is_a_gaussian_map_of_the_predicted_return():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    ret = 0.01 * X[:, 0] + rng.normal(0, 0.002, 300)
    model = SignalModel("logistic", {}, "return", seed=0).fit(X, ret)
    p = model.prob_up(np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 0.0]]))
    assert p[0] > 0.9 and p[1] < 0.1 and abs(p[2] - 0.5) < 0.1
