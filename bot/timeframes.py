"""Parse timeframes ("15m", "1h", "4h", "1d", "1w") and turn start/end arguments into UTC bounds.

The one parser of both: config validation, data loading, venue clients and the engine use it.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from bot.errors import ConfigError

_UNITS = {"m": "min", "min": "min", "h": "h", "d": "D", "w": "W"}
_TF_RE = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_DATE_ONLY_RE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")

DAY = pd.Timedelta(days=1)


def parse_timeframe(timeframe: str, where: str = "data.timeframe") -> pd.Timedelta:
    """Return the bar length of ``timeframe`` ("15m", "1h", "4h", "1d", "1w")."""
    m = _TF_RE.match(str(timeframe))
    if not m or int(m.group(1)) <= 0:
        raise ConfigError(where, f"unknown timeframe {timeframe!r} (use e.g. 15m, 1h, 4h, 1d)")
    n, unit = int(m.group(1)), m.group(2).lower()
    return pd.Timedelta(n, unit=_UNITS[unit])


def is_intraday(timeframe: str) -> bool:
    """Return True when bars are shorter than one day."""
    return parse_timeframe(timeframe) < DAY


def is_date_only(value: object) -> bool:
    """Return True for a ``datetime.date`` or a ``YYYY-MM-DD`` string (no time part)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return True
    return isinstance(value, str) and bool(_DATE_ONLY_RE.match(value))


def split_timeframe(timeframe: str, where: str = "data.timeframe") -> tuple[int, str]:
    """Return (count, unit) of ``timeframe`` with unit one of "m", "h", "d", "w" ("15min" -> (15, "m"))."""
    parse_timeframe(timeframe, where)
    m = _TF_RE.match(str(timeframe))
    assert m is not None  # parse_timeframe accepted it
    unit = m.group(2).lower()
    return int(m.group(1)), "m" if unit == "min" else unit


def to_utc(value: object, where: str = "timestamp") -> pd.Timestamp:
    """Convert a str/date/datetime/Timestamp, or epoch milliseconds, to a UTC Timestamp (naive means UTC)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return pd.Timestamp(int(value), unit="ms", tz="UTC")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as e:
        raise ConfigError(where, f"not a date or timestamp: {value!r}") from e
    if ts is pd.NaT:
        raise ConfigError(where, f"not a date or timestamp: {value!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def bounds(start: object, end: object) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Return inclusive UTC bounds; a date-only ``end`` covers its whole day."""
    lo = None if start is None else to_utc(start, "data.start")
    hi = None if end is None else to_utc(end, "data.end")
    if hi is not None and is_date_only(end):
        hi = hi + DAY - pd.Timedelta(1, unit="ns")
    if lo is not None and hi is not None and lo > hi:
        raise ConfigError("data.start", f"start {lo.isoformat()} is after end {hi.isoformat()}")
    return lo, hi
