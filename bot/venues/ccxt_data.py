"""CCXT ``fetch_ohlcv`` for any exchange id, paginated, rate-limited, errors translated.

The data layer's CCXT provider; it lives with the CCXT venue client because only ``bot/venues``
imports ccxt (and shares its URL override).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import ccxt
import pandas as pd

from bot.data.providers.base import Clock, frame_from_rows, system_clock, with_retries
from bot.data.schema import empty_frame, slice_bounds
from bot.errors import (
    ConfigError,
    FatalVenueError,
    RateLimitedError,
    TransientVenueError,
    VenueError,
)
from bot.timeframes import parse_timeframe
from bot.venues.ccxt_venue import override_origins

T = TypeVar("T")
Progress = Callable[[str, int, pd.Timestamp], None]


def point_to(exchange: ccxt.Exchange, base_url: str) -> None:
    """Send every API call of ``exchange`` to ``base_url`` (scheme://host:port), keeping paths."""
    exchange.urls["api"] = override_origins(exchange.urls["api"], base_url)


def translate(e: Exception, where: str) -> Exception:
    """Map a ccxt exception onto our error tree (callers ``raise translate(e) from e``)."""
    if isinstance(e, ccxt.BadSymbol):
        return ConfigError("data.symbols", f"{where}: unknown symbol ({' '.join(str(e).split())[:200]})")
    if isinstance(e, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return RateLimitedError(f"{where}: rate limited: {e}")
    if isinstance(e, ccxt.AuthenticationError | ccxt.PermissionDenied | ccxt.AccountSuspended):
        return FatalVenueError(f"{where}: {e}")
    if isinstance(e, ccxt.NetworkError):
        return TransientVenueError(f"{where}: {e}")
    return VenueError(f"{where}: {e}")


class CcxtProvider:
    """Historical candles from a CCXT exchange (public endpoints, no keys needed).

    ``url`` points the exchange at a fake server for tests; ``exchange`` injects a ready
    instance. Candles that have not closed by ``clock()`` are dropped.
    """

    name = "ccxt"

    def __init__(
        self,
        exchange_id: str = "binance",
        *,
        url: str | None = None,
        limit: int = 1000,
        options: dict | None = None,
        exchange: ccxt.Exchange | None = None,
        clock: Clock = system_clock,
        retries: int = 3,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        progress: Progress | None = None,
    ):
        self.exchange_id = exchange_id
        self.ex = exchange or self._make(exchange_id, url, options)
        self.limit, self.clock, self.retries, self.backoff = limit, clock, retries, backoff
        self.sleep, self.progress = sleep, progress
        self.name = f"ccxt:{exchange_id}"

    @staticmethod
    def _make(exchange_id: str, url: str | None, options: dict | None) -> ccxt.Exchange:
        cls = getattr(ccxt, exchange_id, None)
        if cls is None or not isinstance(cls, type):
            raise ConfigError("data.exchange", f"unknown ccxt exchange id {exchange_id!r}")
        ex = cls({"enableRateLimit": True, "options": dict(options or {})})
        if url:
            point_to(ex, url)
        return ex

    def _call(self, fn: Callable[[], T], where: str) -> T:
        def once():
            try:
                return fn()
            except ccxt.BaseError as e:
                raise translate(e, where) from e

        return with_retries(once, self.retries, self.backoff, self.sleep)

    def get_bars(
        self, symbol: str, timeframe: str, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> pd.DataFrame:
        """Page through ``fetch_ohlcv`` from ``start`` to ``end`` (inclusive)."""
        if start is None:
            raise ConfigError("data.start", f"{self.name} needs a start date to download {symbol}")
        where = f"{self.name}:{symbol}"
        self._call(self.ex.load_markets, where)
        if timeframe not in (self.ex.timeframes or {timeframe: timeframe}):
            raise ConfigError("data.timeframe", f"{self.name} has no {timeframe} candles")
        bar = parse_timeframe(timeframe)
        now = self.clock()
        stop = min(end, now) if end is not None else now
        rows = self._pages(symbol, timeframe, start, stop, bar, where)
        if not rows:
            return empty_frame()
        frame = frame_from_rows(rows)
        frame = frame[frame.index + bar <= now]  # drop the still-forming candle
        out = slice_bounds(frame, start, end)
        out.attrs["source"] = where
        return out

    def _pages(
        self, symbol: str, timeframe: str, start: pd.Timestamp, stop: pd.Timestamp, bar: pd.Timedelta, where: str
    ) -> list[list[float]]:
        rows: list[list[float]] = []
        since = int(start.value // 1_000_000)
        stop_ms = int(stop.value // 1_000_000)
        while since <= stop_ms:
            fetch = partial(self.ex.fetch_ohlcv, symbol, timeframe, since, self.limit)
            batch = self._call(fetch, where)
            batch = [r for r in batch if r[0] >= since]
            if not batch:
                break
            rows.extend(batch)
            since = int(batch[-1][0]) + int(bar.value // 1_000_000)
            if self.progress:
                self.progress(symbol, len(rows), pd.Timestamp(batch[-1][0], unit="ms", tz="UTC"))
        return rows
