"""A Backtrader live data feed per symbol, fed by :class:`bot.live.bars.BarPoller`.

Each delivered bar carries OHLCV plus the strategy's signal columns as extra lines (like the
backtest's :mod:`bot.engine.feeds`), and its timestamp is appended to the sequence the adapter
reads through ``EngineContext.index[symbol]``. Warm-up bars are never delivered: they live in
the poller's history only. ``_load`` returns None while no bar is ready (Backtrader keeps
looping), False once the session has ended.
"""

from __future__ import annotations

import backtrader as bt
import pandas as pd

from bot.engine.feeds import _TIMEFRAMES
from bot.orders import BarSource
from bot.timeframes import split_timeframe

_LIVE_CLASSES: dict[tuple[str, ...], type] = {}


class _LiveFeedBase(bt.feed.DataBase):
    """Backtrader side of a live feed; the poller does the venue work."""

    params = (("poller", None), ("index", None))

    def islive(self) -> bool:
        return True

    def haslivedata(self) -> bool:
        return self.p.poller.pending()

    def _load(self):
        poller: BarSource = self.p.poller
        bar = poller.next_bar(self._name)
        if bar is None:
            return False if poller.finished(self._name) else None
        ts = pd.Timestamp(bar.timestamp)
        naive = ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts
        self.lines.datetime[0] = bt.date2num(naive.to_pydatetime())
        for name in ("open", "high", "low", "close", "volume"):
            getattr(self.lines, name)[0] = getattr(bar, name)
        self.lines.openinterest[0] = 0.0
        for col, value in bar.signals.items():
            getattr(self.lines, col)[0] = value
        self.p.index.append(ts)
        return True


def live_feed_class(columns: tuple[str, ...]) -> type:
    """Return (and cache) a live feed class with one extra line per signal column."""
    if columns not in _LIVE_CLASSES:
        name = "LiveSignalFeed_" + "_".join(columns)
        _LIVE_CLASSES[columns] = type(name, (_LiveFeedBase,), {"lines": columns})
    return _LIVE_CLASSES[columns]


def make_live_feed(
    symbol: str, poller: BarSource, columns: tuple[str, ...], timeframe: str, index: list[pd.Timestamp]
) -> bt.feed.DataBase:
    """Build the live feed of ``symbol``; delivered bar times are appended to ``index``."""
    count, unit = split_timeframe(timeframe)
    tf, comp = _TIMEFRAMES[unit]
    cls = live_feed_class(columns)
    return cls(poller=poller, index=index, name=symbol, timeframe=tf, compression=comp * count)
