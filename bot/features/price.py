"""Return, moving-average and volatility features from close prices."""

from __future__ import annotations

from functools import partial

import pandas as pd

from bot.features._math import log_returns, sma
from bot.features.registry import Feature, table


def ret(bars: pd.DataFrame, n: int) -> pd.Series:
    """Simple return over n bars, c_t / c_{t-n} - 1; warm-up n rows."""
    c = bars["close"]
    return c / c.shift(n) - 1.0


def close_sma(bars: pd.DataFrame, n: int) -> pd.Series:
    """Close / SMA(close, n) - 1; warm-up n-1 rows."""
    return bars["close"] / sma(bars["close"], n) - 1.0


def realised_vol(bars: pd.DataFrame, n: int) -> pd.Series:
    """Rolling sample std (ddof=1) of 1-bar log returns over n bars, not annualised; warm-up n rows."""
    return log_returns(bars["close"]).rolling(n, min_periods=n).std()


def _families() -> list[Feature]:
    out: list[Feature] = []
    for n in (1, 5, 20):
        out.append(Feature(f"ret_{n}", partial(ret, n=n), f"c_t / c_(t-{n}) - 1", n))
    for n in (10, 50):
        out.append(
            Feature(f"close_sma_{n}", partial(close_sma, n=n), f"c_t / SMA(c, {n})_t - 1", n - 1)
        )
    out.append(
        Feature(
            "vol_20",
            partial(realised_vol, n=20),
            "std(ln(c_i / c_(i-1)), i = t-19..t), ddof=1, not annualised",
            20,
        )
    )
    return out


FEATURES: dict[str, Feature] = table(*_families())

__all__ = ["FEATURES", "close_sma", "realised_vol", "ret"]
