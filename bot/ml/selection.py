"""Feature selection fitted on a training window only (part of each fold's model, like scaling).

``select_features`` scores every column against the binary outcome (the outcome return was
positive) on the rows it is given, which are a fold's purged training rows, and keeps the
``k`` best. Missing values are ignored column by column, so NaN-tolerant models keep them.

- ``anova``: the ANOVA F statistic of the column between up and down outcomes
  (``sklearn.feature_selection.f_classif``).
- ``mutual_info``: the estimated mutual information with the outcome
  (``mutual_info_classif``, seeded).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.feature_selection import f_classif, mutual_info_classif

METHODS = ("none", "anova", "mutual_info")


def _score(x: np.ndarray, up: np.ndarray, method: str, seed: int) -> float:
    ok = np.isfinite(x) & np.isfinite(up)
    x, y = x[ok], up[ok].astype(int)
    if len(x) < 10 or len(np.unique(y)) < 2 or np.ptp(x) == 0:
        return -np.inf  # constant or empty on this window: useless here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "anova":
            value = float(f_classif(x.reshape(-1, 1), y)[0][0])
        else:
            value = float(mutual_info_classif(x.reshape(-1, 1), y, random_state=seed)[0])
    return value if np.isfinite(value) else -np.inf


def select_features(X: np.ndarray, ret: np.ndarray, method: str, k: int, seed: int = 0) -> np.ndarray:
    """Return a boolean mask of the ``k`` best columns of ``X`` for predicting ``ret > 0`` (all when off)."""
    n = X.shape[1]
    if method == "none" or k >= n:
        return np.ones(n, dtype=bool)
    if method not in METHODS:
        raise ValueError(f"unknown selection method {method!r}")
    up = np.where(np.isfinite(ret), (ret > 0).astype(np.float64), np.nan)
    scores = np.array([_score(X[:, j], up, method, seed) for j in range(n)])
    order = np.lexsort((np.arange(n), -scores))  # best first; ties by column order (deterministic)
    mask = np.zeros(n, dtype=bool)
    mask[order[:k]] = True
    return mask
