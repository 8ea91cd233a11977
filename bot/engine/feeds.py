"""Backtrader data feeds that carry a strategy's precomputed signal columns as extra lines."""

from __future__ import annotations

import backtrader as bt
import pandas as pd

from bot.timeframes import split_timeframe

_FEED_CLASSES: dict[tuple[str, ...], type] = {}

_TIMEFRAMES = {"m": (bt.TimeFrame.Minutes, 1), "h": (bt.TimeFrame.Minutes, 60), "d": (bt.TimeFrame.Days, 1),
               "w": (bt.TimeFrame.Weeks, 1)}


def feed_class(columns: tuple[str, ...]) -> type:
    """Return (and cache) a PandasData subclass with one extra line per signal column."""
    if columns not in _FEED_CLASSES:
        name = "SignalFeed_" + "_".join(columns)
        attrs = {"lines": columns, "params": tuple((c, -1) for c in columns)}
        _FEED_CLASSES[columns] = type(name, (bt.feeds.PandasData,), attrs)
    return _FEED_CLASSES[columns]


def make_feed(symbol: str, bars: pd.DataFrame, signals: pd.DataFrame, timeframe: str) -> bt.feeds.PandasData:
    """Build a feed of OHLCV plus ``signals`` columns for one symbol (index converted to naive UTC)."""
    df = bars[["open", "high", "low", "close", "volume"]].join(signals)
    if df.index.tz is not None:
        df.index = df.index.tz_convert("UTC").tz_localize(None)
    count, unit = split_timeframe(timeframe)
    tf, comp = _TIMEFRAMES[unit]
    cls = feed_class(tuple(signals.columns))
    return cls(dataname=df, name=symbol, openinterest=None, timeframe=tf, compression=comp * count)
