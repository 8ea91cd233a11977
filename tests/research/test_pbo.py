"""CSCV probability of backtest overfitting (bot/analytics/pbo.py): by hand, noise, skill."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.stats import rankdata

from bot.analytics.pbo import cscv_splits, logit_of_rank, pbo, sharpe_columns
from bot.ml.stats import sharpe_ratio


def test_two_trials_that_swap_places_overfit_every_split():
    # A gains in block 0 and loses in block 1; B the reverse. The IS winner is last out of sample:
    # rank 1 of 2 -> w = 1/3 -> logit ln(1/2).
    a = [0.02, 0.01, -0.01, -0.02]
    b = [-0.01, -0.02, 0.02, 0.01]
    res = pbo(np.column_stack([a, b]), blocks=2)
    assert res.n_splits == 2 and res.block_size == 2
    assert list(res.is_best) == [0, 1]
    assert list(res.oos_rank) == [1.0, 1.0]
    assert np.allclose(res.logits, [math.log(0.5)] * 2)
    assert res.pbo == 1.0


def test_a_median_out_of_sample_rank_has_logit_zero_and_counts_as_overfit():
    # Three trials: A best in block 0 and middle in block 1, B middle then best, C worst in both.
    a = [0.05, 0.03, 0.01, 0.0]
    b = [0.01, 0.0, 0.05, 0.03]
    c = [-0.01, -0.03, -0.01, -0.03]
    res = pbo(np.column_stack([a, b, c]), blocks=2)
    assert list(res.is_best) == [0, 1]
    assert list(res.oos_rank) == [2.0, 2.0]  # w = 2/4, logit 0
    assert np.allclose(res.logits, 0.0)
    assert res.pbo == 1.0  # PBO counts logits <= 0


def test_a_trial_best_everywhere_never_overfits():
    a = [0.05, 0.03, 0.06, 0.04]
    b = [0.01, 0.0, 0.02, 0.0]
    c = [-0.01, -0.03, -0.01, -0.03]
    res = pbo(np.column_stack([a, b, c]), blocks=2)
    assert list(res.is_best) == [0, 0]
    assert np.allclose(res.logits, math.log(3))  # rank 3 of 3: w = 3/4
    assert res.pbo == 0.0


def test_pure_noise_trials_give_a_pbo_near_one_half_on_average():
    values = [pbo(np.random.default_rng(seed).normal(0, 0.01, (480, 10)), blocks=8).pbo for seed in range(12)]
    assert 0.35 < np.mean(values) < 0.65, values


def test_one_truly_skilled_trial_gives_a_pbo_near_zero():
    values = []
    for seed in range(5):
        m = np.random.default_rng(seed).normal(0, 0.01, (480, 10))
        m[:, 3] += 0.003  # per-bar Sharpe 0.3, far above the noise of 240-row halves (~0.065)
        res = pbo(m, blocks=8)
        assert np.mean(res.is_best == 3) > 0.95
        values.append(res.pbo)
    assert max(values) < 0.05, values


def _slow_pbo(m: np.ndarray, blocks: int) -> tuple[np.ndarray, np.ndarray]:
    size = len(m) // blocks
    parts = m[len(m) - size * blocks :].reshape(blocks, size, -1)
    best, logits = [], []
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        rest = [b for b in range(blocks) if b not in chosen]
        is_perf = [sharpe_ratio(col) for col in parts[list(chosen)].reshape(-1, m.shape[1]).T]
        oos_perf = [sharpe_ratio(col) for col in parts[rest].reshape(-1, m.shape[1]).T]
        n_star = int(np.argmax(is_perf))
        w = rankdata(oos_perf)[n_star] / (m.shape[1] + 1)
        best.append(n_star)
        logits.append(math.log(w / (1 - w)))
    return np.array(best), np.array(logits)


def test_matches_a_direct_implementation_of_the_paper():
    m = np.random.default_rng(3).normal(0.0005, 0.01, (131, 7))  # 131 rows: the oldest 5 are dropped
    res = pbo(m, blocks=6)
    best, logits = _slow_pbo(m, 6)
    assert np.array_equal(res.is_best, best)
    assert np.allclose(res.logits, logits)
    assert np.allclose(sharpe_columns(m), [sharpe_ratio(c) for c in m.T])


def test_properties_splits_symmetry_invariances_and_bounds():
    splits = cscv_splits(8)
    assert len(splits) == math.comb(8, 4)
    for i, s in enumerate(splits):  # complementary splits pair up (the symmetry of CSCV)
        assert set(s) | set(splits[-1 - i]) == set(range(8)) and not set(s) & set(splits[-1 - i])
    n = 9
    for r in range(1, n + 1):
        assert logit_of_rank(r, n) == pytest.approx(-logit_of_rank(n + 1 - r, n))
    m = np.random.default_rng(5).normal(0.0002, 0.01, (400, n))
    res = pbo(m, blocks=8)
    assert np.all(np.abs(res.logits) <= math.log(n) + 1e-12)
    scaled = pbo(m * 3.0, blocks=8)
    assert np.allclose(scaled.logits, res.logits) and scaled.pbo == res.pbo
    order = np.random.default_rng(6).permutation(n)
    permuted = pbo(m[:, order], blocks=8)
    assert np.allclose(permuted.logits, res.logits)
    assert np.array_equal(order[permuted.is_best], res.is_best)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="even"):
        cscv_splits(5)
    with pytest.raises(ValueError, match="N >= 2"):
        pbo(np.zeros((40, 1)), blocks=4)
    with pytest.raises(ValueError, match="too few"):
        pbo(np.zeros((7, 3)), blocks=4)
