"""Probability of backtest overfitting by combinatorially symmetric cross-validation (CSCV).

Bailey, Borwein, López de Prado & Zhu (2015), "The probability of backtest overfitting",
Journal of Computational Finance 20(4). Given a matrix ``M`` of per-bar returns (T bars x N
trials, one column per configuration tried):

1. cut the rows into ``S`` (even) consecutive blocks of equal size (the oldest ``T mod S`` rows
   are dropped);
2. for every one of the C(S, S/2) ways to pick S/2 blocks as the in-sample set J (the other
   half, J', is out of sample), score every trial on J and on J' (here: the per-bar Sharpe ratio);
3. take the trial n* that is best in sample, and its relative rank out of sample
   ``w = rank_OOS(n*) / (N + 1)`` (rank 1 = worst, N = best; ties get their average rank);
4. its logit ``lambda = ln(w / (1 - w))``: positive when the in-sample winner is above the
   out-of-sample median, negative when below.

PBO is the share of splits whose logit is <= 0: the probability that the configuration picked
in sample does no better than the median configuration out of sample. Skill-less trials give
PBO near 0.5; one truly better trial gives PBO near 0. Pure functions, no I/O.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata


@dataclass(frozen=True)
class PboResult:
    pbo: float  # share of logits <= 0
    logits: np.ndarray  # one per split, in the order of ``cscv_splits``
    is_best: np.ndarray  # the in-sample best trial (column) of each split
    oos_rank: np.ndarray  # its out-of-sample rank, 1 (worst) .. N (best), averaged over ties
    n_splits: int
    blocks: int
    block_size: int


def cscv_splits(blocks: int) -> list[tuple[int, ...]]:
    """Return every choice of ``blocks / 2`` in-sample block indices, in lexicographic order."""
    if blocks < 2 or blocks % 2:
        raise ValueError(f"the number of blocks must be even and at least 2, got {blocks}")
    return list(itertools.combinations(range(blocks), blocks // 2))


def sharpe_columns(returns: np.ndarray) -> np.ndarray:
    """Return each column's per-bar Sharpe ratio mean / std (ddof=1); 0 where the std is 0."""
    r = np.asarray(returns, dtype=np.float64)
    center = r.mean(axis=0)
    dev = r - center
    return _sharpe(dev.sum(axis=0), (dev**2).sum(axis=0), center, len(r), _scale(r))


def _scale(m: np.ndarray) -> np.ndarray:
    """Each column's size (|mean| + std): a std below 1e-9 of it counts as zero."""
    return np.abs(m.mean(axis=0)) + m.std(axis=0)


def _sharpe(total: np.ndarray, sq: np.ndarray, center: np.ndarray, n: int, scale: np.ndarray) -> np.ndarray:
    """Sharpe over ``n`` rows from the column sums of (x - center) and (x - center)^2."""
    mean_dev = total / n
    var = (sq - n * mean_dev**2) / (n - 1) if n > 1 else np.zeros_like(total)
    sd = np.sqrt(np.maximum(var, 0.0))
    ok = sd > 1e-9 * scale
    return np.where(ok, (mean_dev + center) / np.where(ok, sd, 1.0), 0.0)


def logit_of_rank(rank: float, n: int) -> float:
    """Return ln(w / (1 - w)) with w = rank / (n + 1)."""
    w = rank / (n + 1)
    return math.log(w / (1 - w))


def pbo(returns: np.ndarray, blocks: int = 16) -> PboResult:
    """Return the CSCV probability of backtest overfitting of the trials in ``returns`` (T x N)."""
    m = np.asarray(returns, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError(f"need a T x N matrix with N >= 2 trials, got shape {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("returns must be finite")
    size = m.shape[0] // blocks
    if size < 2:
        raise ValueError(f"{m.shape[0]} rows are too few for {blocks} blocks of at least 2 rows")
    m = m[m.shape[0] - size * blocks :]
    splits = cscv_splits(blocks)
    n = m.shape[1]
    center = m.mean(axis=0)  # sums of deviations from the column means keep the variances exact
    dev = (m - center).reshape(blocks, size, n)
    block_sum, block_sq = dev.sum(axis=1), (dev**2).sum(axis=1)  # S x N each
    chosen = np.zeros((len(splits), blocks))
    for i, picked in enumerate(splits):
        chosen[i, list(picked)] = 1.0
    rows = size * blocks // 2
    scale = _scale(m)
    is_perf = _sharpe(chosen @ block_sum, chosen @ block_sq, center, rows, scale)
    oos_perf = _sharpe((1 - chosen) @ block_sum, (1 - chosen) @ block_sq, center, rows, scale)
    best = np.argmax(is_perf, axis=1)  # ties: the lowest column
    ranks = rankdata(oos_perf, axis=1)[np.arange(len(splits)), best]
    w = ranks / (n + 1)
    logits = np.log(w / (1 - w))
    return PboResult(float(np.mean(logits <= 0)), logits, best, ranks, len(splits), blocks, size)
