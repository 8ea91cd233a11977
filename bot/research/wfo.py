"""Walk-forward optimisation over a fixed pool of trials: pick in sample, trade the next segment.

Pure functions over a matrix of per-bar returns (rows = bars of the trading period, columns =
trials). The rows are cut into ``segments`` consecutive parts of (nearly) equal size. Step k
(k = 1 .. segments - 1) scores every trial on its in-sample rows (parts 0 .. k-1 when anchored,
the last ``is_segments`` parts before k when rolling), picks the best (ties: the lowest trial
number; NaN scores lose) and takes that trial's returns on part k, out of sample. The stitched
out-of-sample series is those parts one after another.

Each trial was simulated once over the whole period, so a position the chosen trial holds when
an out-of-sample part begins was opened by that trial's own run in the part before; the stitched
series is the return of switching to that trial's book at the boundary, costs of the switch not
charged. The choice for step k reads rows before part k only: changing any later row leaves it
unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

METRICS = ("sharpe", "sortino", "total_return", "calmar")


@dataclass(frozen=True)
class WfoStep:
    index: int  # 1 .. segments - 1
    is_rows: tuple[int, int]  # [start, end) rows of the in-sample window
    oos_rows: tuple[int, int]  # [start, end) rows of the out-of-sample part
    chosen: int  # column of the trial picked in sample
    is_score: float  # its in-sample score
    oos_score: float  # its out-of-sample score


@dataclass(frozen=True)
class WfoResult:
    steps: list[WfoStep]
    is_scores: np.ndarray  # steps x trials
    oos_scores: np.ndarray  # steps x trials
    oos_returns: np.ndarray  # the stitched out-of-sample returns, rows oos_rows of each step in turn
    start_row: int  # the first row of the stitched series (the first out-of-sample part's start)


def segment_bounds(n_rows: int, segments: int) -> list[int]:
    """Return the ``segments + 1`` row boundaries of consecutive parts of (nearly) equal size."""
    if segments < 2 or n_rows < 2 * segments:
        raise ValueError(f"{n_rows} rows are too few for {segments} segments of at least 2 rows")
    sizes = [len(a) for a in np.array_split(np.arange(n_rows), segments)]
    return [0, *np.cumsum(sizes).tolist()]


def score(returns: np.ndarray, metric: str, periods_per_year: int) -> np.ndarray:
    """Return each column's ``metric`` of its per-bar returns (annualised where it is a ratio)."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim == 1:
        r = r[:, None]
    if metric == "total_return":
        return np.prod(1.0 + r, axis=0) - 1.0
    if metric == "calmar":
        return _calmar(r, periods_per_year)
    mean = r.mean(axis=0)
    if metric == "sharpe":
        sd = r.std(axis=0, ddof=1) if len(r) > 1 else np.zeros(r.shape[1])
    elif metric == "sortino":
        sd = np.sqrt(np.mean(np.minimum(r, 0.0) ** 2, axis=0))
    else:
        raise ValueError(f"unknown metric {metric!r} (one of {', '.join(METRICS)})")
    ok = sd > 1e-12
    return np.where(ok, mean / np.where(ok, sd, 1.0) * math.sqrt(periods_per_year), 0.0)


def _calmar(r: np.ndarray, periods_per_year: int) -> np.ndarray:
    wealth = np.cumprod(1.0 + r, axis=0)
    peak = np.maximum.accumulate(np.vstack([np.ones((1, r.shape[1])), wealth]), axis=0)[1:]
    drawdown = np.min(wealth / peak - 1.0, axis=0)
    cagr = wealth[-1] ** (periods_per_year / len(r)) - 1.0
    ok = drawdown < -1e-12
    no_loss = np.where(cagr > 0, np.inf, 0.0)  # never below a peak: unbounded when it gained
    return np.where(ok, cagr / np.where(ok, -drawdown, 1.0), no_loss)


def in_sample_rows(bounds: list[int], k: int, window: str, is_segments: int) -> tuple[int, int]:
    """Return the [start, end) rows step ``k`` picks on: every part before k, or the last few."""
    start = 0 if window == "anchored" else bounds[max(0, k - is_segments)]
    return start, bounds[k]


def pick(scores: np.ndarray) -> int:
    """Return the column with the best score (NaN loses; ties: the lowest column)."""
    s = np.where(np.isfinite(scores), scores, -np.inf)
    return int(np.argmax(s))


def walk_forward(
    returns: np.ndarray,
    segments: int,
    window: str = "anchored",
    is_segments: int = 1,
    metric: str = "sharpe",
    periods_per_year: int = 252,
) -> WfoResult:
    """Run the walk-forward selection over ``returns`` (bars x trials) and stitch the picks."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] < 1:
        raise ValueError(f"need a bars x trials matrix, got shape {r.shape}")
    bounds = segment_bounds(len(r), segments)
    steps, is_all, oos_all, parts = [], [], [], []
    for k in range(1, segments):
        is_rows, oos_rows = (
            in_sample_rows(bounds, k, window, is_segments),
            (bounds[k], bounds[k + 1]),
        )
        is_s = score(r[slice(*is_rows)], metric, periods_per_year)
        oos_s = score(r[slice(*oos_rows)], metric, periods_per_year)
        best = pick(is_s)
        steps.append(WfoStep(k, is_rows, oos_rows, best, float(is_s[best]), float(oos_s[best])))
        is_all.append(is_s)
        oos_all.append(oos_s)
        parts.append(r[slice(*oos_rows), best])
    return WfoResult(steps, np.vstack(is_all), np.vstack(oos_all), np.concatenate(parts), bounds[1])
