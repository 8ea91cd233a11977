"""Vectorised building blocks shared by the feature modules (all causal)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def sma(x: pd.Series, n: int) -> pd.Series:
    """Return the simple moving average over ``n`` rows; NaN for the first n-1 rows."""
    return x.rolling(n, min_periods=n).mean()


def ema(x: pd.Series, span: int) -> pd.Series:
    """Return the EMA (alpha = 2/(span+1), adjust=False, seeded with the first value).

    The first ``span - 1`` valid rows are masked to NaN (warm-up).
    """
    return x.ewm(span=span, adjust=False, min_periods=span).mean()


def wilder(x: pd.Series, n: int) -> pd.Series:
    """Return Wilder's smoothing: seed = mean of the first n valid values, then y += (x - y)/n.

    A DataFrame (one column per symbol, bot/features/wide.py) is smoothed column by column.
    """
    if isinstance(x, pd.DataFrame):
        return _wilder_frame(x, n)
    valid = x.notna().to_numpy()
    out = pd.Series(np.nan, index=x.index, dtype="float64")
    if not valid.any():
        return out
    first = int(np.argmax(valid))
    seed_pos = first + n - 1
    if seed_pos >= len(x):
        return out
    seeded = x.astype("float64").copy()
    seeded.iloc[:seed_pos] = np.nan
    seeded.iloc[seed_pos] = x.iloc[first : seed_pos + 1].mean()
    return seeded.ewm(alpha=1.0 / n, adjust=False).mean()


def _wilder_frame(x: pd.DataFrame, n: int) -> pd.DataFrame:
    """Wilder's smoothing of each column, values identical to ``wilder`` on that column alone."""
    raw = x.to_numpy(np.float64)
    seeded = raw.copy()
    valid = ~np.isnan(raw)
    for j in range(raw.shape[1]):  # seeds per column (the first valid row may differ)
        first = int(np.argmax(valid[:, j])) if valid[:, j].any() else len(raw)
        seed_pos = first + n - 1
        seeded[: min(seed_pos, len(raw)), j] = np.nan
        if seed_pos < len(raw):  # the same Series.mean as the one-column path
            seeded[seed_pos, j] = pd.Series(raw[first : seed_pos + 1, j]).mean()
    frame = pd.DataFrame(seeded, index=x.index, columns=x.columns)
    return frame.ewm(alpha=1.0 / n, adjust=False).mean()


def safe_div(num: pd.Series, den: pd.Series) -> pd.Series:
    """Return num / den with NaN where den == 0 (never +-inf)."""
    return num / den.where(den != 0)


def log_returns(close: pd.Series) -> pd.Series:
    """Return 1-bar log returns ln(c_t / c_{t-1}); NaN on the first row."""
    return np.log(close / close.shift(1))
