"""Cross-validation splits on calendar positions, with purging and an embargo.

A split names the positions it tests (one or more half-open ranges) and the range its training
rows may come from. ``train_mask`` then drops every sample whose label window
[position, label end] overlaps a test range widened by ``embargo`` bars on each side: labels
that would peek into the test window are purged, and the bars right after (and, for
walk-forward, right before) it are embargoed.

- ``walk_forward_splits``: train strictly before each test window (rolling or expanding);
  the only scheme a backtest may trade on.
- ``purged_kfold_splits``: k contiguous groups, each tested once, trained on all others.
- ``cpcv_splits``: combinatorial purged CV (López de Prado): every choice of ``n_test`` of
  ``n_groups`` groups is tested once; ``cpcv_paths`` stitches the predictions into
  C(n_groups - 1, n_test - 1) complete backtest paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

from bot.config import ValidationConfig


@dataclass(frozen=True)
class Split:
    index: int
    train: tuple[int, int]  # positions training rows may come from, [start, end)
    test: tuple[tuple[int, int], ...]  # tested positions, half-open ranges
    groups: tuple[int, ...] = ()  # cpcv: the test groups

    @property
    def test_start(self) -> int:
        return self.test[0][0]

    @property
    def test_end(self) -> int:
        return self.test[-1][1]


def walk_forward_splits(n: int, train: int, test: int, step: int, window: str) -> list[Split]:
    """Return walk-forward splits: test [s, s + min(test, step)), train before s."""
    out, s, k = [], train, 0
    width = min(test, step)
    while s < n:
        start = s - train if window == "rolling" else 0
        out.append(Split(k, (start, s), ((s, min(s + width, n)),)))
        s += step
        k += 1
    return out


def _group_bounds(n: int, n_groups: int) -> np.ndarray:
    if n < n_groups:
        raise ValueError(f"{n} positions cannot make {n_groups} groups")
    return np.linspace(0, n, n_groups + 1).astype(int)


def purged_kfold_splits(n: int, n_splits: int) -> list[Split]:
    """Return k contiguous test groups; each split may train on every position outside its group."""
    b = _group_bounds(n, n_splits)
    return [Split(i, (0, n), ((int(b[i]), int(b[i + 1])),), (i,)) for i in range(n_splits)]


def _merge(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for a, b in ranges:
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return tuple(out)


def cpcv_splits(n: int, n_groups: int, n_test: int) -> list[Split]:
    """Return one split per choice of ``n_test`` test groups out of ``n_groups``."""
    b = _group_bounds(n, n_groups)
    out = []
    for i, groups in enumerate(combinations(range(n_groups), n_test)):
        ranges = _merge([(int(b[g]), int(b[g + 1])) for g in groups])
        out.append(Split(i, (0, n), ranges, tuple(groups)))
    return out


def cpcv_paths(n_groups: int, n_test: int) -> list[dict[int, int]]:
    """Return the backtest paths: path p maps each group to the split whose prediction it uses."""
    splits = list(combinations(range(n_groups), n_test))
    n_paths = comb(n_groups - 1, n_test - 1)
    per_group = {g: [i for i, s in enumerate(splits) if g in s] for g in range(n_groups)}
    return [{g: per_group[g][p] for g in range(n_groups)} for p in range(n_paths)]


def group_of(pos: np.ndarray, n: int, n_groups: int) -> np.ndarray:
    """Return the cpcv group of each position."""
    b = _group_bounds(n, n_groups)
    return np.searchsorted(b, pos, side="right") - 1


def make_splits(n: int, v: ValidationConfig) -> list[Split]:
    """Return the splits ``validation.scheme`` asks for over ``n`` calendar positions."""
    if v.scheme == "purged_kfold":
        return purged_kfold_splits(n, v.n_splits)
    if v.scheme == "cpcv":
        return cpcv_splits(n, v.n_splits, v.n_test_splits)
    return walk_forward_splits(n, v.train, v.test, v.step_bars, v.window)


def train_mask(split: Split, pos: np.ndarray, label_end: np.ndarray, embargo: int) -> np.ndarray:
    """Select samples in the split's train range whose label window avoids every embargoed test range."""
    keep = (pos >= split.train[0]) & (pos < split.train[1])
    for a, b in split.test:
        keep &= ~((pos < b + embargo) & (label_end >= a - embargo))
    return keep


def in_test(split: Split, pos: np.ndarray) -> np.ndarray:
    """Select the samples the split predicts."""
    out = np.zeros(len(pos), dtype=bool)
    for a, b in split.test:
        out |= (pos >= a) & (pos < b)
    return out
