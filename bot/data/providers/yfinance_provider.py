"""Yahoo Finance bars through yfinance (stocks, ETFs, indices like ^VIX); the only module importing it.

yfinance is optional: without it this provider raises a config error naming the package.
``history`` injects the download function (tests replay recorded responses through it).
Daily bars are stamped with their exchange date at midnight UTC, like the CSV files; 4h bars
are built from 1h bars because Yahoo has no 4h interval.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from bot.data.resample import resample_bars
from bot.data.schema import INDEX_NAME, empty_frame, finalize, slice_bounds
from bot.errors import ConfigError, RateLimitedError, TransientVenueError, VenueError
from bot.timeframes import DAY, parse_timeframe

History = Callable[..., pd.DataFrame]
INTERVALS = {"1m": "1m", "5m": "5m", "15m": "15m", "30m": "30m", "1h": "1h", "1d": "1d", "1w": "1wk"}
COLUMNS = {"Open": "open", "High": "high", "Low": "low", "Close": "close", "Adj Close": "adj_close", "Volume": "volume"}


def _yfinance_history(symbol: str, **kwargs) -> pd.DataFrame:
    try:
        import yfinance  # noqa: PLC0415 - optional dependency
    except ImportError as e:
        raise ConfigError("data.sources", "source 'yfinance' needs the yfinance package (pip install yfinance)") from e
    try:
        return yfinance.Ticker(symbol).history(**kwargs)
    except Exception as e:  # yfinance raises many types; translate by class below
        raise _translate(e, symbol) from e


def _translate(e: Exception, symbol: str) -> Exception:
    name = type(e).__name__
    where = f"yfinance:{symbol}"
    if name == "YFRateLimitError":
        return RateLimitedError(f"{where}: rate limited")
    if isinstance(e, OSError | TimeoutError) or "Timeout" in name or "Connection" in name:
        return TransientVenueError(f"{where}: {e}")
    return VenueError(f"{where}: {type(e).__name__}: {' '.join(str(e).split())[:200]}")


def to_bars(raw: pd.DataFrame, daily: bool) -> pd.DataFrame:
    """Translate a yfinance history frame (Open/High/.../Adj Close, exchange tz) to the bar schema."""
    if raw is None or raw.empty:
        return empty_frame()
    renamed = raw.rename(columns=COLUMNS)
    frame = renamed[[c for c in COLUMNS.values() if c in renamed.columns]].copy()
    idx = pd.DatetimeIndex(raw.index)
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    if daily:
        idx = pd.DatetimeIndex(idx.tz_localize(None).normalize()).tz_localize("UTC")
    frame.index = idx.tz_convert("UTC").rename(INDEX_NAME)
    return finalize(frame.dropna(subset=["open", "high", "low", "close"], how="all"))


class YFinanceProvider:
    """Bars from Yahoo Finance; ``auto_adjust`` False keeps raw OHLC plus adj_close."""

    name = "yfinance"

    def __init__(self, *, history: History | None = None, auto_adjust: bool = False):
        self.history = history or _yfinance_history
        self.auto_adjust = auto_adjust

    def get_bars(
        self, symbol: str, timeframe: str, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> pd.DataFrame:
        """Download ``symbol`` between start and end (inclusive)."""
        bar = parse_timeframe(timeframe)
        fetch_tf = "1h" if timeframe == "4h" else timeframe
        if fetch_tf not in INTERVALS:
            raise ConfigError("data.timeframe", f"yfinance has no {timeframe} bars")
        kwargs = {"interval": INTERVALS[fetch_tf], "auto_adjust": self.auto_adjust, "actions": False}
        if start is not None:
            kwargs["start"] = start.strftime("%Y-%m-%d")
        if end is not None:  # yfinance's end is exclusive and date-granular
            kwargs["end"] = (end.normalize() + DAY).strftime("%Y-%m-%d")
        if start is None:
            kwargs["period"] = "max"
        frame = to_bars(self.history(symbol, **kwargs), daily=bar >= DAY)
        if fetch_tf != timeframe and not frame.empty:
            frame = resample_bars(frame, fetch_tf, timeframe, partial="keep")
        out = slice_bounds(frame, start, end)
        out.attrs["source"] = f"yfinance:{symbol}"
        return out
