"""Label functions: pure, over one symbol's bars. A label at t looks ahead from t's close.

Every label type is built from an *outcome* frame (``outcomes``): the return the label is about
(``ret``), a binary "going long was right" label (``up`` = ret > 0) and ``end``, how many bars
after t the outcome is known (the label's end, used for purging). Then:

- ``direction``: up over ``horizon`` bars (classification, 2 classes);
- ``signal5``: STRONG_SELL..STRONG_BUY by forward-return quantile thresholds that the model
  fits on its training rows only (``fit_thresholds`` / ``classify``);
- ``return``: the forward return itself (regression);
- ``triple_barrier``: López de Prado's triple barrier: the first of an upper barrier
  ``close_t * (1 + profit_take * vol_t * sqrt(h))``, a lower barrier
  ``close_t * (1 - stop_loss * vol_t * sqrt(h))`` and the time barrier ``t + h`` that the
  closes touch; ``ret`` is the return at that touch and ``end`` the touch's offset, so a label
  that hits a barrier early ends early. ``vol_t`` is a causal rolling standard deviation of
  one-bar log returns (``causal_volatility``);
- ``excess_return``: cross-sectional. The symbol's forward return over ``horizon`` bars minus the
  mean forward return of every symbol known at the same timestamp (``cross_sectional_excess``,
  applied by the pooled dataset); ``up`` is "outperformed the cross-section" and ``end`` is the
  latest end among the symbols averaged, so the purge covers every return the label uses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SIGNAL5_NAMES = ("STRONG_SELL", "SELL", "HOLD", "BUY", "STRONG_BUY")
LABEL_TYPES = ("direction", "signal5", "return", "triple_barrier", "excess_return")


def forward_return(close: pd.Series, horizon: int) -> pd.Series:
    """Return close[t + horizon] / close[t] - 1 (NaN for the last ``horizon`` bars)."""
    return close.shift(-horizon) / close - 1.0


def direction_label(close: pd.Series, horizon: int) -> pd.Series:
    """Return 1.0 if the close ``horizon`` bars ahead is higher, 0.0 if not, NaN where unknown."""
    fwd = forward_return(close, horizon)
    return (fwd > 0).astype(np.float64).where(fwd.notna())


def causal_volatility(close: pd.Series, window: int) -> pd.Series:
    """Return the rolling std of one-bar log returns over the ``window`` bars ending at t (past only)."""
    logret = np.log(close / close.shift(1))
    return logret.rolling(window, min_periods=window).std(ddof=1)


def triple_barrier(
    close: pd.Series, horizon: int, profit_take: float, stop_loss: float, vol_window: int
) -> pd.DataFrame:
    """Return ``ret`` (return at the first barrier touched) and ``end`` (its offset in bars) per bar.

    A bar whose barriers are not touched before the data ends, or whose volatility is not yet
    defined, gets NaN. A touch of both barriers on one bar cannot happen on closes.
    """
    c = close.to_numpy(np.float64)
    n = len(c)
    width = causal_volatility(close, vol_window).to_numpy() * np.sqrt(horizon)
    upper, lower = profit_take * width, -stop_loss * width
    ret = np.full(n, np.nan)
    end = np.full(n, np.nan)
    open_ = np.isfinite(width)
    for k in range(1, horizon + 1):
        if not open_.any():
            break
        r = np.full(n, np.nan)
        r[: n - k] = c[k:] / c[: n - k] - 1.0
        known = open_ & np.isfinite(r)
        hit = known & ((r >= upper) | (r <= lower) | (k == horizon))
        ret[hit], end[hit] = r[hit], k
        open_ &= ~hit
    return pd.DataFrame({"ret": ret, "end": end}, index=close.index)


def outcomes(
    close: pd.Series, horizon: int, label: str, profit_take: float = 1.0, stop_loss: float = 1.0, vol_window: int = 20
) -> pd.DataFrame:
    """Return ``ret``, ``up`` (1.0/0.0, NaN unknown) and ``end`` (bars ahead, NaN unknown) per bar."""
    if label == "triple_barrier":
        frame = triple_barrier(close, horizon, profit_take, stop_loss, vol_window)
    elif label in LABEL_TYPES:
        ret = forward_return(close, horizon)
        frame = pd.DataFrame({"ret": ret, "end": np.where(ret.notna(), float(horizon), np.nan)}, index=close.index)
    else:
        raise ValueError(f"unknown label {label!r}")
    frame["up"] = (frame["ret"] > 0).astype(np.float64).where(frame["ret"].notna())
    return frame[["ret", "up", "end"]]


def fit_thresholds(ret: np.ndarray, quantiles: list[float] | tuple[float, ...]) -> np.ndarray:
    """Return the signal5 cut points: the ``quantiles`` of the (training) returns."""
    r = np.asarray(ret, dtype=np.float64)
    r = r[np.isfinite(r)]
    if len(r) == 0:
        raise ValueError("no returns to fit signal5 thresholds on")
    return np.quantile(r, quantiles)


def classify(ret: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Return signal5 classes 0..4 (STRONG_SELL..STRONG_BUY) for ``ret``; NaN stays NaN."""
    r = np.asarray(ret, dtype=np.float64)
    cls = np.searchsorted(thresholds, r, side="right").astype(np.float64)
    return np.where(np.isfinite(r), cls, np.nan)


def cross_sectional_excess(ret: pd.Series, when: pd.Series, end: pd.Series) -> pd.DataFrame:
    """Return ``ret`` minus its mean over the rows sharing ``when``, and the latest ``end`` among them.

    ``ret``, ``when`` and ``end`` are aligned pooled rows (one per symbol and bar). Rows whose return is
    unknown are left out of the mean; a timestamp with fewer than two known returns gets NaN.
    """
    known = ret.notna()
    grouped = ret.groupby(when)
    mean, count = grouped.transform("mean"), grouped.transform("count")
    latest = end.where(known).groupby(when).transform("max")
    ok = known & (count >= 2)
    return pd.DataFrame({"ret": (ret - mean).where(ok), "end": latest.where(ok)}, index=ret.index)
