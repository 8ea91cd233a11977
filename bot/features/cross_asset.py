"""Cross-asset features from other symbols' bars (``context``), aligned with an as-of join."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bot.errors import DataError
from bot.features._math import sma
from bot.features.price import ret
from bot.features.registry import Feature, table

INDEX = "SPY"
VIX = "VIX"


def _utc(index: pd.Index, where: str) -> pd.DatetimeIndex:
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(where, "cross-asset features need a DatetimeIndex")
    out = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return out.as_unit("ns")


def asof(values: pd.Series, index: pd.Index, where: str) -> pd.Series:
    """Align ``values`` to ``index``: each row takes the last value stamped at or before it."""
    src = _utc(values.index, where)
    if not src.is_monotonic_increasing:
        raise DataError(where, "timestamps are not increasing")
    pos = src.searchsorted(_utc(index, "bars"), side="right") - 1
    out = values.to_numpy(dtype="float64")[np.clip(pos, 0, None)]
    out[pos < 0] = np.nan
    return pd.Series(out, index=index, dtype="float64")


def _close(context: Mapping[str, pd.DataFrame], symbol: str) -> pd.Series:
    frame = context[symbol]
    if "close" not in frame.columns:
        raise DataError(symbol, "missing column close")
    return frame["close"].astype("float64")


def spy_regime(bars: pd.DataFrame, context: Mapping[str, pd.DataFrame]) -> pd.Series:
    """Market regime: SPY close / SMA(SPY close, 200) - 1, as-of aligned; warm-up 199 SPY bars."""
    c = _close(context, INDEX)
    return asof(c / sma(c, 200) - 1.0, bars.index, INDEX)


def spy_ret(bars: pd.DataFrame, context: Mapping[str, pd.DataFrame]) -> pd.Series:
    """SPY 20-bar return, as-of aligned; warm-up 20 SPY bars."""
    c = _close(context, INDEX)
    return asof(c / c.shift(20) - 1.0, bars.index, INDEX)


def rel_ret(bars: pd.DataFrame, context: Mapping[str, pd.DataFrame]) -> pd.Series:
    """Relative strength: ret_20 - SPY 20-bar return; warm-up 20 rows."""
    return ret(bars, 20) - spy_ret(bars, context)


def vix_level(bars: pd.DataFrame, context: Mapping[str, pd.DataFrame]) -> pd.Series:
    """VIX close (index points), as-of aligned; no warm-up."""
    return asof(_close(context, VIX), bars.index, VIX)


def vix_chg(bars: pd.DataFrame, context: Mapping[str, pd.DataFrame]) -> pd.Series:
    """VIX 5-bar change, VIX_t / VIX_(t-5) - 1 on VIX's own bars, as-of aligned; warm-up 5 VIX bars."""
    c = _close(context, VIX)
    return asof(c / c.shift(5) - 1.0, bars.index, VIX)


FEATURES: dict[str, Feature] = table(
    Feature("spy_regime_200", spy_regime, "SPY c / SMA(SPY c, 200) - 1, as-of", 199, (INDEX,)),
    Feature("spy_ret_20", spy_ret, "SPY c_s / c_(s-20) - 1, as-of", 20, (INDEX,)),
    Feature("rel_ret_20", rel_ret, "ret_20 - spy_ret_20", 20, (INDEX,)),
    Feature("vix_level", vix_level, "VIX close, as-of", 0, (VIX,)),
    Feature("vix_chg_5", vix_chg, "VIX c_s / c_(s-5) - 1, as-of", 5, (VIX,)),
)
