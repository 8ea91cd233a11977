"""Return, moving-average and realised-volatility features from prices (all scale-free)."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from bot.features._math import ema, log_returns, sma
from bot.features.registry import Feature, table

RET_LOOKBACKS = (1, 2, 3, 5, 10, 20, 60, 120)
RET_LAGS = (1, 2, 3, 5)
SMA_LENGTHS = (5, 10, 20, 50, 100, 200)
EMA_LENGTHS = (12, 26, 50, 200)
VOL_LENGTHS = (5, 10, 20, 60)


def ret(bars: pd.DataFrame, n: int) -> pd.Series:
    """Simple return (rate of change) over n bars, c_t / c_{t-n} - 1; warm-up n rows."""
    c = bars["close"]
    return c / c.shift(n) - 1.0


def ret_lag(bars: pd.DataFrame, k: int) -> pd.Series:
    """1-bar return k bars ago, ret_1 at t-k; warm-up k+1 rows."""
    return ret(bars, 1).shift(k)


def close_sma(bars: pd.DataFrame, n: int) -> pd.Series:
    """Close / SMA(close, n) - 1; warm-up n-1 rows."""
    return bars["close"] / sma(bars["close"], n) - 1.0


def close_ema(bars: pd.DataFrame, n: int) -> pd.Series:
    """Close / EMA(close, n) - 1 (adjust=False); warm-up n-1 rows."""
    return bars["close"] / ema(bars["close"], n) - 1.0


def sma_cross(bars: pd.DataFrame, fast: int, slow: int) -> pd.Series:
    """SMA(close, fast) / SMA(close, slow) - 1; warm-up slow-1 rows."""
    return sma(bars["close"], fast) / sma(bars["close"], slow) - 1.0


def realised_vol(bars: pd.DataFrame, n: int) -> pd.Series:
    """Rolling sample std (ddof=1) of 1-bar log returns over n bars, not annualised; warm-up n rows."""
    return log_returns(bars["close"]).rolling(n, min_periods=n).std()


def vol_ratio(bars: pd.DataFrame, short: int, long: int) -> pd.Series:
    """Realised vol over `short` bars / realised vol over `long` bars; warm-up `long` rows."""
    return realised_vol(bars, short) / realised_vol(bars, long)


def parkinson_vol(bars: pd.DataFrame, n: int) -> pd.Series:
    """Parkinson high-low volatility sqrt(mean(ln(H/L)^2) / (4 ln 2)) over n bars; warm-up n-1 rows."""
    hl2 = np.log(bars["high"] / bars["low"]) ** 2
    return np.sqrt(sma(hl2, n) / (4.0 * np.log(2.0)))


def _returns() -> list[Feature]:
    out = [Feature(f"ret_{n}", partial(ret, n=n), f"c_t / c_(t-{n}) - 1", n) for n in RET_LOOKBACKS]
    out += [Feature(f"ret_1_lag{k}", partial(ret_lag, k=k), f"c_(t-{k}) / c_(t-{k + 1}) - 1", k + 1) for k in RET_LAGS]
    return out


def _averages() -> list[Feature]:
    out = [Feature(f"close_sma_{n}", partial(close_sma, n=n), f"c_t / SMA(c, {n})_t - 1", n - 1) for n in SMA_LENGTHS]
    out += [Feature(f"close_ema_{n}", partial(close_ema, n=n), f"c_t / EMA(c, {n})_t - 1", n - 1) for n in EMA_LENGTHS]
    for fast, slow in ((10, 50), (50, 200)):
        out.append(
            Feature(
                f"sma_{fast}_{slow}",
                partial(sma_cross, fast=fast, slow=slow),
                f"SMA(c, {fast}) / SMA(c, {slow}) - 1",
                slow - 1,
            )
        )
    return out


def _volatility() -> list[Feature]:
    out = [
        Feature(
            f"vol_{n}",
            partial(realised_vol, n=n),
            f"std(ln(c_i / c_(i-1)), i = t-{n - 1}..t), ddof=1, not annualised",
            n,
        )
        for n in VOL_LENGTHS
    ]
    out.append(Feature("vol_ratio_5_60", partial(vol_ratio, short=5, long=60), "vol_5 / vol_60", 60))
    out.append(
        Feature(
            "parkinson_20",
            partial(parkinson_vol, n=20),
            "sqrt(mean(ln(h_i / l_i)^2, i = t-19..t) / (4 ln 2))",
            19,
        )
    )
    return out


FEATURES: dict[str, Feature] = table(*_returns(), *_averages(), *_volatility())
