"""Volume features: OBV flow, rolling VWAP, volume z-score and ratios, Chaikin money flow."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from bot.features._math import safe_div, sma
from bot.features.registry import Feature, table


def _sum(x: pd.Series, n: int) -> pd.Series:
    return x.rolling(n, min_periods=n).sum()


def obv_flow(bars: pd.DataFrame, n: int) -> pd.Series:
    """OBV change over n bars / volume over n bars, sum(sign(dc) v) / sum(v), in [-1, 1]; warm-up n rows."""
    signed = np.sign(bars["close"].diff()) * bars["volume"]
    return safe_div(_sum(signed, n), _sum(bars["volume"].where(signed.notna()), n))


def close_vwap(bars: pd.DataFrame, n: int) -> pd.Series:
    """Close / rolling VWAP(n) - 1, VWAP = sum(tp v) / sum(v), tp = (h+l+c)/3; warm-up n-1 rows."""
    tp = (bars["high"] + bars["low"] + bars["close"]) / 3.0
    vwap = safe_div(_sum(tp * bars["volume"], n), _sum(bars["volume"], n))
    return bars["close"] / vwap - 1.0


def volume_z(bars: pd.DataFrame, n: int) -> pd.Series:
    """Volume z-score (v - SMA(v, n)) / std(v, n, ddof=1); warm-up n-1 rows."""
    v = bars["volume"]
    return safe_div(v - sma(v, n), v.rolling(n, min_periods=n).std())


def volume_ratio(bars: pd.DataFrame, short: int, long: int) -> pd.Series:
    """SMA(v, short) / SMA(v, long) - 1; warm-up long-1 rows."""
    v = bars["volume"]
    return safe_div(sma(v, short), sma(v, long)) - 1.0


def cmf(bars: pd.DataFrame, n: int) -> pd.Series:
    """Chaikin money flow sum(mfm v) / sum(v), mfm = ((c-l) - (h-c)) / (h-l), 0 if h == l; warm-up n-1."""
    h, lo, c = bars["high"], bars["low"], bars["close"]
    mfm = safe_div((c - lo) - (h - c), h - lo).fillna(0.0)
    return safe_div(_sum(mfm * bars["volume"], n), _sum(bars["volume"], n))


FEATURES: dict[str, Feature] = table(
    Feature("obv_20", partial(obv_flow, n=20), "sum(sign(c_i - c_(i-1)) v_i) / sum(v_i), 20 bars", 20),
    Feature("vwap_20", partial(close_vwap, n=20), "c / (sum(tp v) / sum(v), 20 bars) - 1", 19),
    Feature("volume_z_20", partial(volume_z, n=20), "(v - SMA(v, 20)) / std(v, 20)", 19),
    Feature(
        "volume_ratio_5_20",
        partial(volume_ratio, short=5, long=20),
        "SMA(v, 5) / SMA(v, 20) - 1",
        19,
    ),
    Feature("cmf_20", partial(cmf, n=20), "sum(mfm v) / sum(v), 20 bars", 19),
)
