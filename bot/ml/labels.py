"""Label functions: pure, over one symbol's bars. A label at t looks ``horizon`` bars ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd


def forward_return(close: pd.Series, horizon: int) -> pd.Series:
    """Return close[t + horizon] / close[t] - 1 (NaN for the last ``horizon`` bars)."""
    return close.shift(-horizon) / close - 1.0


def direction_label(close: pd.Series, horizon: int) -> pd.Series:
    """Return 1.0 if the close ``horizon`` bars ahead is higher, 0.0 if not, NaN where unknown."""
    fwd = forward_return(close, horizon)
    return (fwd > 0).astype(np.float64).where(fwd.notna())
