"""Example feature plugin: two features of a user's own, registered with ``@feature``.

List the module in a config (``model.feature_modules: [path/to/my_features.py]``) and use the
names in ``model.features``. Check them for look-ahead before trusting them::

    python -m bot.features check strategies/examples/my_features.py

Each function gets one symbol's bars (open, high, low, close, volume; a DatetimeIndex) and returns
a Series on the same index whose value at t uses bars up to t only; ``warmup`` is how many leading
values may be NaN.
"""

from __future__ import annotations

import pandas as pd

from bot.features import feature


@feature("range_pos_20", warmup=19, formula="(c - min(l, 20)) / (max(h, 20) - min(l, 20))")
def range_pos_20(bars: pd.DataFrame) -> pd.Series:
    """Where the close sits in its 20-bar high-low range (0 = at the low, 1 = at the high)."""
    high = bars["high"].rolling(20).max()
    low = bars["low"].rolling(20).min()
    return (bars["close"] - low) / (high - low)


@feature("gap_1", warmup=1, formula="o / c[t-1] - 1")
def gap_1(bars: pd.DataFrame) -> pd.Series:
    """The overnight gap: this bar's open over the previous bar's close, minus one."""
    return bars["open"] / bars["close"].shift(1) - 1.0
