"""Bollinger bands and the Average True Range (scale-free forms)."""

from __future__ import annotations

from functools import partial

import pandas as pd

from bot.features._math import safe_div, sma, wilder
from bot.features.registry import Feature, table


def _bollinger(close: pd.Series, n: int, k: float) -> tuple[pd.Series, pd.Series, pd.Series]:
    mid = sma(close, n)
    sd = close.rolling(n, min_periods=n).std(ddof=0)
    return mid - k * sd, mid, mid + k * sd


def bb_pctb(bars: pd.DataFrame, n: int = 20, k: float = 2.0) -> pd.Series:
    """Bollinger %B = (c - lower) / (upper - lower), bands SMA(n) +- k pop. std; warm-up n-1 rows."""
    lower, _, upper = _bollinger(bars["close"], n, k)
    return safe_div(bars["close"] - lower, upper - lower)


def bb_width(bars: pd.DataFrame, n: int = 20, k: float = 2.0) -> pd.Series:
    """Bollinger band width (upper - lower) / middle; warm-up n-1 rows."""
    lower, mid, upper = _bollinger(bars["close"], n, k)
    return (upper - lower) / mid


def bb_upper(bars: pd.DataFrame, n: int = 20, k: float = 2.0) -> pd.Series:
    """Close relative to the upper band, c / upper - 1; warm-up n-1 rows."""
    _, _, upper = _bollinger(bars["close"], n, k)
    return bars["close"] / upper - 1.0


def bb_lower(bars: pd.DataFrame, n: int = 20, k: float = 2.0) -> pd.Series:
    """Close relative to the lower band, c / lower - 1; warm-up n-1 rows."""
    lower, _, _ = _bollinger(bars["close"], n, k)
    return bars["close"] / lower - 1.0


def true_range(bars: pd.DataFrame) -> pd.Series:
    """True range max(h, c_{t-1}) - min(l, c_{t-1}); NaN on the first row."""
    prev = bars["close"].shift(1)
    tr = pd.concat([bars["high"], prev], axis=1).max(axis=1, skipna=False) - pd.concat([bars["low"], prev], axis=1).min(
        axis=1, skipna=False
    )
    return tr


def atr(bars: pd.DataFrame, n: int) -> pd.Series:
    """Wilder ATR(n) in price units; warm-up n rows."""
    return wilder(true_range(bars), n)


def natr(bars: pd.DataFrame, n: int) -> pd.Series:
    """Normalised ATR = ATR(n) / c; warm-up n rows."""
    return atr(bars, n) / bars["close"]


FEATURES: dict[str, Feature] = table(
    Feature("bb_pctb_20", bb_pctb, "(c - L) / (U - L), U/L = SMA20 +- 2 std20 (ddof=0)", 19),
    Feature("bb_width_20", bb_width, "(U - L) / SMA20", 19),
    Feature("bb_upper_20", bb_upper, "c / U - 1", 19),
    Feature("bb_lower_20", bb_lower, "c / L - 1", 19),
    Feature("natr_14", partial(natr, n=14), "Wilder ATR(14) / c, TR = max(h, c_-1) - min(l, c_-1)", 14),
)
