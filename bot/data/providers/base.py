"""The provider interface every bar source implements, plus shared helpers.

    provider.get_bars(symbol, timeframe, start, end) -> DataFrame

``start``/``end`` are inclusive UTC Timestamps (None = open). The frame is in the bar schema
(UTC "timestamp" index, float64 open/high/low/close/volume[, adj_close]) and carries
``attrs["source"]`` naming where it came from. Errors: ConfigError (bad symbol/settings),
DataError (bad or no data), VenueError subclasses (network trouble).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np
import pandas as pd

from bot.data.schema import PRICE_COLUMNS, REQUIRED_COLUMNS, finalize
from bot.errors import RateLimitedError, TransientVenueError

T = TypeVar("T")

Clock = Callable[[], pd.Timestamp]


def system_clock() -> pd.Timestamp:
    """Return the current UTC time (the only wall clock of the data layer; inject another in tests)."""
    return pd.Timestamp(time.time_ns(), unit="ns", tz="UTC")


@runtime_checkable
class BarProvider(Protocol):
    """A source of OHLCV bars."""

    name: str

    def get_bars(
        self, symbol: str, timeframe: str, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> pd.DataFrame:
        """Return bars for ``symbol`` with start <= timestamp <= end."""
        ...


def schema_problem(frame: pd.DataFrame) -> str | None:
    """Return why ``frame`` is not usable bar data, or None when it is."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        return f"missing columns {', '.join(missing)}"
    if frame.empty:
        return "no bars"
    idx = frame.index
    if not isinstance(idx, pd.DatetimeIndex) or idx.tz is None:
        return "index is not a UTC DatetimeIndex"
    if not (idx.is_monotonic_increasing and idx.is_unique):
        return "timestamps not strictly increasing"
    values = frame[list(PRICE_COLUMNS)].to_numpy()
    if not np.isfinite(values).all() or (values <= 0).any():
        return "missing or non-positive prices"
    return None


def frame_from_rows(rows: list[list[float]] | np.ndarray, unit: str = "ms") -> pd.DataFrame:
    """Build a schema frame from [time, open, high, low, close, volume] rows (CCXT layout)."""
    arr = np.asarray(rows, dtype="float64").reshape(-1, 6)
    idx = pd.to_datetime(arr[:, 0].astype("int64"), unit=unit, utc=True)
    frame = pd.DataFrame(arr[:, 1:], index=idx, columns=list(REQUIRED_COLUMNS))
    frame = frame[~frame.index.duplicated(keep="last")].sort_index()
    return finalize(frame)


def with_retries(call: Callable[[], T], retries: int, backoff: float, sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``call``; on TransientVenueError wait (``retry_after`` or exponential) and retry."""
    for attempt in range(retries + 1):
        try:
            return call()
        except TransientVenueError as e:
            if attempt == retries:
                raise
            wait = e.retry_after if isinstance(e, RateLimitedError) and e.retry_after else backoff * 2**attempt
            sleep(wait)
    raise AssertionError("unreachable")
