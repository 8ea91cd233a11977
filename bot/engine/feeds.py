"""Backtrader data feeds that carry a strategy's precomputed signal columns as extra lines.

The feed loads its bars from plain Python lists made once per symbol (the values Backtrader's
``PandasData`` would read cell by cell with ``DataFrame.iloc``, which costs more than the whole
simulation step): the same floats, the same ``date2num`` timestamps, ``openinterest`` left NaN.
"""

from __future__ import annotations

import backtrader as bt
import pandas as pd

from bot.timeframes import split_timeframe

_FEED_CLASSES: dict[tuple[str, ...], type] = {}

_TIMEFRAMES = {
    "m": (bt.TimeFrame.Minutes, 1),
    "h": (bt.TimeFrame.Minutes, 60),
    "d": (bt.TimeFrame.Days, 1),
    "w": (bt.TimeFrame.Weeks, 1),
}

_OHLCV = ("open", "high", "low", "close", "volume")


class _FrameFeedBase(bt.feed.DataBase):
    """A feed over columns given as lists: ``columns`` maps a line name to its values, ``times``
    holds the bars' naive UTC datetimes."""

    params = (("columns", None), ("times", None))

    def start(self):
        super().start()
        self._idx = -1
        # (line, values) in the order PandasData fills them; openinterest stays NaN
        self._pairs = [(getattr(self.lines, c), values) for c, values in self.p.columns.items()]
        self._dt = self.lines.datetime

    def _load(self):
        self._idx += 1
        i = self._idx
        if i >= len(self.p.times):
            return False
        for line, values in self._pairs:
            line[0] = values[i]
        self._dt[0] = bt.date2num(self.p.times[i])
        return True


def feed_class(columns: tuple[str, ...]) -> type:
    """Return (and cache) a feed class with one extra line per signal column."""
    if columns not in _FEED_CLASSES:
        name = "SignalFeed_" + "_".join(columns)
        _FEED_CLASSES[columns] = type(name, (_FrameFeedBase,), {"lines": columns})
    return _FEED_CLASSES[columns]


def make_feed(symbol: str, bars: pd.DataFrame, signals: pd.DataFrame, timeframe: str) -> bt.feed.DataBase:
    """Build a feed of OHLCV plus ``signals`` columns for one symbol (index converted to naive UTC)."""
    df = bars[list(_OHLCV)].join(signals)
    if df.index.tz is not None:
        df.index = df.index.tz_convert("UTC").tz_localize(None)
    count, unit = split_timeframe(timeframe)
    tf, comp = _TIMEFRAMES[unit]
    cls = feed_class(tuple(signals.columns))
    columns = {c: df.iloc[:, j].tolist() for j, c in enumerate(df.columns)}
    times = [t.to_pydatetime() for t in df.index]
    return cls(columns=columns, times=times, name=symbol, timeframe=tf, compression=comp * count)
