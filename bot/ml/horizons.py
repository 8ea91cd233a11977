"""Combine per-horizon P(up) into the one probability a strategy trades on.

``model.horizon_combine`` (honoured for every strategy with ``uses_model``):

- ``all_agree`` (default): when every horizon says up (P > 0.5) the combined P(up) is the
  least confident of them (the minimum); when every horizon says down, the maximum; when they
  disagree, 0.5 (no view). A long-only strategy thus enters only when all horizons agree.
- ``mean``: the average probability.
- ``first``: the first horizon listed in ``model.horizon``; the others are only reported.

Any NaN horizon makes the combined value NaN (no signal). With one horizon all three agree.
"""

from __future__ import annotations

import numpy as np

COMBINE_METHODS = ("all_agree", "mean", "first")


def combine_horizons(probs: np.ndarray, how: str = "all_agree") -> np.ndarray:
    """Return one P(up) per row from an (n, n_horizons) array of per-horizon probabilities."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] == 0:
        raise ValueError("probs must be a 2-D array with one column per horizon")
    if probs.shape[1] == 1 or how == "first":
        out = probs[:, 0].copy()
    elif how == "mean":
        out = probs.mean(axis=1)
    elif how == "all_agree":
        with np.errstate(invalid="ignore"):
            up, down = (probs > 0.5).all(axis=1), (probs < 0.5).all(axis=1)
        out = np.where(up, probs.min(axis=1), np.where(down, probs.max(axis=1), 0.5))
    else:
        raise ValueError(f"unknown horizon_combine {how!r} (choose from {', '.join(COMBINE_METHODS)})")
    out[np.isnan(probs).any(axis=1)] = np.nan
    return out


def horizon_combine_of(cfg) -> str:
    """Return the configured combination method (``model.horizon_combine``)."""
    return cfg.model.horizon_combine
