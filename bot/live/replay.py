"""A bar source that replays stored bars one close at a time (paper sessions over CSV/sample data).

It answers like a venue's data API: ``clock()`` is the close of the last revealed bar and
``get_bars`` returns closed bars only. :meth:`ReplayBars.advance` reveals the next close; a
paper session uses it as its "wait", so a replay runs as fast as the strategy can trade.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from bot.venues.base import closed_only, timeframe_delta


class ReplayBars:
    """Reveal ``bars`` (symbol -> OHLCV with a UTC bar-start index) close by close."""

    name = "replay"

    def __init__(self, bars: Mapping[str, pd.DataFrame], timeframe: str, warmup: int):
        self.bars = {s: _utc(df) for s, df in bars.items()}
        self.timeframe = timeframe
        delta = timeframe_delta(timeframe)
        closes = sorted({t + delta for df in self.bars.values() for t in df.index})
        if not closes or not 1 <= warmup <= len(closes):
            raise ValueError(f"warmup must be within 1..{len(closes)} bars")
        self._closes = closes
        self._pos = warmup - 1

    def clock(self) -> pd.Timestamp:
        """Return the close time of the last revealed bar."""
        return self._closes[self._pos]

    def remaining(self) -> int:
        """Return how many closes are still to be revealed."""
        return len(self._closes) - 1 - self._pos

    def advance(self, seconds: float = 0.0) -> bool:
        """Reveal the next close (``seconds`` is ignored); return False when none is left."""
        if self.remaining() <= 0:
            return False
        self._pos += 1
        return True

    def seek(self, clock: pd.Timestamp) -> None:
        """Reveal every bar closing at or before ``clock`` (used when a session resumes)."""
        while self.remaining() > 0 and self._closes[self._pos + 1] <= clock:
            self._pos += 1

    def get_bars(
        self, symbol: str, timeframe: str, start: pd.Timestamp | None = None, limit: int | None = None
    ) -> pd.DataFrame:
        """Return the closed bars of ``symbol`` from ``start`` on (the last ``limit`` of them)."""
        df = self.bars[symbol]
        if start is not None:
            df = df[df.index >= start]
        return closed_only(df, self.timeframe, self.clock(), limit)


def _utc(df: pd.DataFrame) -> pd.DataFrame:
    out = df[["open", "high", "low", "close", "volume"]].astype(float)
    idx = pd.DatetimeIndex(out.index)
    out.index = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    return out
