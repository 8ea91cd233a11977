"""Out-of-sample statistics of a cross-sectional score: rank IC and the top-minus-bottom spread.

Computed only from walk-forward (out-of-sample) scores, at the rebalance timestamps:

- rank IC: per timestamp, the Spearman correlation between the score and the realised forward
  excess return over ``horizon`` bars (close to close; subtracting the cross-section's mean does not
  change ranks, so it equals the IC against raw forward returns). ``ic_t`` = mean / (std / sqrt(n)).
  With ``horizon`` <= the rebalance interval the periods do not overlap.
- spread: per rebalance, the mean forward return over the holding period (``every`` bars, close to
  close, before costs) of the ``top`` best-scored symbols minus that of the ``bottom`` worst-scored,
  annualised by ``periods_per_year / every``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from bot.ml.labels import forward_return


def rank_ic(score: np.ndarray, realised: np.ndarray) -> float:
    """Return the Spearman correlation of ``score`` and ``realised`` over rows where both are known."""
    s, r = np.asarray(score, dtype=np.float64), np.asarray(realised, dtype=np.float64)
    ok = np.isfinite(s) & np.isfinite(r)
    if ok.sum() < 3:
        return float("nan")
    rs, rr = pd.Series(s[ok]).rank(), pd.Series(r[ok]).rank()
    if rs.std() == 0 or rr.std() == 0:
        return float("nan")
    return float(np.corrcoef(rs, rr)[0, 1])


def mean_t(values: list[float]) -> dict:
    """Return mean, std (ddof=1), t = mean / (std / sqrt(n)) and n of the finite ``values``."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=np.float64)
    n = len(v)
    mean = float(v.mean()) if n else float("nan")
    std = float(v.std(ddof=1)) if n > 1 else float("nan")
    t = mean / (std / math.sqrt(n)) if n > 1 and std > 0 else float("nan")
    return {"mean": mean, "std": std, "t": t, "n": n}


def _wide_forward(bars: Mapping[str, pd.DataFrame], calendar: pd.DatetimeIndex, h: int) -> pd.DataFrame:
    return pd.DataFrame({s: forward_return(df["close"], h).reindex(calendar) for s, df in bars.items()})


def spread_of(score: pd.Series, fwd: pd.Series, top: int, bottom: int) -> float:
    """Return mean ``fwd`` of the ``top`` best scores minus that of the ``bottom`` worst (NaN if too few)."""
    ok = score.notna() & fwd.notna()
    if ok.sum() < top + bottom or top < 1 or bottom < 1:
        return float("nan")
    order = score[ok].sort_index().sort_values(ascending=False, kind="stable").index
    return float(fwd[order[:top]].mean() - fwd[order[-bottom:]].mean())


def rank_report(
    predictions: pd.DataFrame,
    bars: Mapping[str, pd.DataFrame],
    calendar: pd.DatetimeIndex,
    horizon: int,
    every: int,
    first: int,
    top: int,
    bottom: int,
    ppy: int,
) -> dict:
    """Return the ``rank`` metrics of OOS ``prob_up`` scores at calendar steps first, first + every, ..."""
    scores = predictions[predictions["prob_up"].notna()].pivot(index="timestamp", columns="symbol", values="prob_up")
    grid = calendar[first::every].intersection(scores.index)
    fwd_h, fwd_hold = _wide_forward(bars, calendar, horizon), _wide_forward(bars, calendar, every)
    ics, spreads = [], []
    for t in grid:
        s = scores.loc[t].reindex(fwd_h.columns)
        ics.append(rank_ic(s.to_numpy(), fwd_h.loc[t].to_numpy()))
        spreads.append(spread_of(s, fwd_hold.loc[t], top, bottom))
    ic, sp = mean_t(ics), mean_t(spreads)
    return {
        "ic_mean": ic["mean"],
        "ic_std": ic["std"],
        "ic_t": ic["t"],
        "n_periods": ic["n"],
        "spread_mean": sp["mean"],
        "spread_t": sp["t"],
        "spread_annualised": sp["mean"] * ppy / every,
        "n_spread_periods": sp["n"],
        "horizon": horizon,
        "rebalance_every": every,
        "top_k": top,
        "bottom_k": bottom,
        "score": "prob_up: out-of-sample P(forward excess return > 0)",
    }
