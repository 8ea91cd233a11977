"""Splits, purging and embargo: no training sample's label window touches an (embargoed) test window."""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np
import pytest

from bot.ml import walkforward
from bot.ml.cv import (
    cpcv_paths,
    cpcv_splits,
    group_of,
    in_test,
    purged_kfold_splits,
    train_mask,
    walk_forward_splits,
)
from bot.ml.walkforward import run_validation
from tests.ml.helpers import ml_config, random_walk_bars

UNKNOWN = np.iinfo(np.int64).max


def _samples(n=600, symbols=3, max_h=15, seed=0):
    """Pooled samples: positions repeated per symbol, label ends 1..max_h bars later (triple-barrier-like)."""
    rng = np.random.default_rng(seed)
    pos = np.repeat(np.arange(n), symbols)
    end = pos + rng.integers(1, max_h + 1, len(pos))
    end[end >= n] = UNKNOWN
    return pos, end


def test_walk_forward_splits_purge_exactly_like_the_backtest_folds():
    pos, end = _samples()
    for embargo in (0, 3):
        splits = walk_forward_splits(600, 200, 50, 50, "rolling")
        folds = walkforward.make_folds(600, 200, 50, 50, "rolling")
        assert [(s.train[0], s.test_start, s.test_end) for s in splits] == [
            (f.train_start, f.test_start, f.test_end) for f in folds
        ]
        for s, f in zip(splits, folds, strict=True):
            np.testing.assert_array_equal(
                train_mask(s, pos, end, embargo), walkforward.train_mask(f, pos, end, embargo)
            )


@pytest.mark.parametrize("embargo", [0, 4])
def test_purged_kfold_never_trains_on_a_label_window_overlapping_the_test_window(embargo):
    pos, end = _samples()
    splits = purged_kfold_splits(600, 5)
    tested = np.zeros(len(pos), dtype=int)
    for s in splits:
        train = train_mask(s, pos, end, embargo)
        test = in_test(s, pos)
        tested += test
        ((a, b),) = s.test
        assert not (train & test).any()
        # The label window [pos, end] of every training sample misses [a, b) widened by the embargo.
        overlaps = (pos[train] < b + embargo) & (end[train] >= a - embargo)
        assert not overlaps.any()
        # Samples after the test window train, except within the embargo.
        after = pos[train][pos[train] >= b]
        if b < 600:
            assert len(after) and after.min() >= b + embargo
        # Purging is not over-eager: every clean sample outside the window is kept.
        clean = ~((pos < b + embargo) & (end >= a - embargo)) & (end != UNKNOWN)
        assert np.array_equal(train & (end != UNKNOWN), clean)
    assert np.all(tested == 1)  # every sample is tested exactly once


def test_cpcv_splits_and_paths_cover_every_group_once_per_path():
    n, groups, k = 600, 6, 2
    splits = cpcv_splits(n, groups, k)
    assert len(splits) == comb(groups, k) == 15
    assert [s.groups for s in splits] == list(combinations(range(groups), k))
    paths = cpcv_paths(groups, k)
    assert len(paths) == comb(groups - 1, k - 1) == 5
    used = set()
    for path in paths:
        assert sorted(path) == list(range(groups))
        for g, s in path.items():
            assert g in splits[s].groups
            used.add((s, g))
    assert len(used) == len(splits) * k  # each (split, test group) prediction used by exactly one path
    pos, end = _samples(n)
    g = group_of(pos, n, groups)
    for s in splits[:4]:
        train = train_mask(s, pos, end, 2)
        assert not np.isin(g[train], s.groups).any()
        for a, b in s.test:
            assert not ((pos[train] < b + 2) & (end[train] >= a - 2)).any()


def test_purged_kfold_and_cpcv_run_end_to_end():
    bars = random_walk_bars(2, 500, seed=4)
    kf = run_validation(bars, ml_config(validation__scheme="purged_kfold", validation__n_splits=4))
    pred = kf.predictions
    assert len(pred) == pred[["timestamp", "symbol"]].drop_duplicates().shape[0]  # one prediction per sample
    assert len(kf.folds) == 4 and {"sharpe", "max_drawdown", "win_rate", "profit_factor"} <= set(kf.folds.columns)
    cp = run_validation(bars, ml_config(validation__scheme="cpcv", validation__n_splits=4, validation__n_test_splits=2))
    assert sorted(cp.predictions["path"].unique()) == [0, 1, 2]
    per_path = cp.predictions.groupby("path").size()
    assert per_path.nunique() == 1 and per_path.iloc[0] == len(pred)
    assert len(cp.metrics["stats"]["rule"]["paths"]) == 3


def test_backtests_refuse_schemes_that_train_on_later_data():
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match="validation.scheme"):
        walkforward.run_walk_forward(random_walk_bars(1, 300), ml_config(validation__scheme="purged_kfold"))
