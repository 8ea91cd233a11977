"""Walk-forward selection and stitching over a pool of trials (bot/research/wfo.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.ml.stats import sharpe_ratio
from bot.research.wfo import score, segment_bounds, walk_forward

SEGMENT_TOTALS = [  # 4 segments (rows) x 3 trials (columns)
    [0.02, 0.01, -0.01],
    [-0.02, 0.04, 0.01],
    [0.0, -0.03, 0.05],
    [0.0, 0.01, -0.02],
]


def _hand_matrix() -> np.ndarray:
    """8 bars x 3 trials, 4 segments of 2 bars: each segment's total on its first bar, then 0."""
    rows = []
    for totals in SEGMENT_TOTALS:
        rows += [totals, [0.0, 0.0, 0.0]]
    return np.array(rows)


def test_segment_totals_of_the_hand_matrix():
    m = _hand_matrix()
    totals = [np.prod(1 + m[a : a + 2], axis=0) - 1 for a in (0, 2, 4, 6)]
    assert np.allclose(totals, SEGMENT_TOTALS)


def test_anchored_stitching_by_hand():
    m = _hand_matrix()
    res = walk_forward(m, segments=4, window="anchored", metric="total_return")
    # step 1: IS = seg 0 -> trial 0 (+2%); step 2: IS = seg 0-1 -> trial 1 (1.01*1.04);
    # step 3: IS = seg 0-2
    # -> trial 2 (0.99 * 1.01 * 1.05 = 1.0499 vs trial 1: 1.01 * 1.04 * 0.97 = 1.0189)
    assert [s.chosen for s in res.steps] == [0, 1, 2]
    assert [s.oos_rows for s in res.steps] == [(2, 4), (4, 6), (6, 8)]
    assert [s.is_rows for s in res.steps] == [(0, 2), (0, 4), (0, 6)]
    assert res.start_row == 2
    assert np.array_equal(res.oos_returns, np.concatenate([m[2:4, 0], m[4:6, 1], m[6:8, 2]]))
    assert np.prod(1 + res.oos_returns) - 1 == pytest.approx(0.98 * 0.97 * 0.98 - 1, abs=1e-9)
    assert [s.oos_score for s in res.steps] == pytest.approx([-0.02, -0.03, -0.02], abs=1e-9)
    assert res.is_scores.shape == res.oos_scores.shape == (3, 3)


def test_rolling_window_uses_only_the_last_segments():
    m = _hand_matrix()
    res = walk_forward(m, segments=4, window="rolling", is_segments=1, metric="total_return")
    # step 2 picks on seg 1 alone (trial 1, +4%), step 3 on seg 2 alone (trial 2, +5%)
    assert [s.is_rows for s in res.steps] == [(0, 2), (2, 4), (4, 6)]
    assert [s.chosen for s in res.steps] == [0, 1, 2]
    res2 = walk_forward(m, segments=4, window="rolling", is_segments=2, metric="total_return")
    assert [s.is_rows for s in res2.steps] == [(0, 2), (0, 4), (2, 6)]


def test_choices_depend_only_on_returns_before_their_segment():
    rng = np.random.default_rng(11)
    m = rng.normal(0.0003, 0.01, (600, 12))
    base = walk_forward(m, segments=6, metric="sharpe")
    bounds = segment_bounds(600, 6)
    for k in range(1, 6):
        changed = m.copy()
        changed[bounds[k] :] = rng.normal(0.002, 0.03, changed[bounds[k] :].shape)  # every later return changed
        other = walk_forward(changed, segments=6, metric="sharpe")
        for a, b in zip(base.steps[:k], other.steps[:k], strict=True):
            assert (a.chosen, a.is_rows, a.is_score) == (b.chosen, b.is_rows, b.is_score)
        assert np.array_equal(base.oos_returns[: bounds[k] - bounds[1]], other.oos_returns[: bounds[k] - bounds[1]])
    # and the later choices do react to the later data (the test can fail)
    flipped = m.copy()
    flipped[:, base.steps[-1].chosen] -= 0.01
    assert walk_forward(flipped, segments=6).steps[-1].chosen != base.steps[-1].chosen


def test_segment_bounds_and_scores():
    assert segment_bounds(10, 3) == [0, 4, 7, 10]
    with pytest.raises(ValueError, match="too few"):
        segment_bounds(5, 3)
    r = np.random.default_rng(2).normal(0.001, 0.01, 300)
    assert score(r, "sharpe", 252)[0] == pytest.approx(sharpe_ratio(r) * math.sqrt(252))
    assert score(r, "total_return", 252)[0] == pytest.approx(np.prod(1 + r) - 1)
    assert score(np.zeros((5, 2)), "sharpe", 252).tolist() == [0.0, 0.0]
    wealth = np.cumprod(1 + r)
    dd = np.min(wealth / np.maximum.accumulate(np.concatenate([[1.0], wealth]))[1:] - 1)
    assert score(r, "calmar", 252)[0] == pytest.approx((wealth[-1] ** (252 / 300) - 1) / -dd)
    assert np.isnan(score(r, "sharpe", 252)).sum() == 0
