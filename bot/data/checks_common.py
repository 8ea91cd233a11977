"""Types shared by the validation checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PRICES = ("open", "high", "low", "close")


@dataclass(frozen=True)
class Context:
    """What a check may know besides the bars: symbol, bar length, calendar, live clock."""

    symbol: str
    bar: pd.Timedelta
    is_24_7: bool
    now: pd.Timestamp | None = None

    def stamp(self, ts: pd.Timestamp | None) -> str:
        """Format ``ts`` as a date for daily bars, else ISO 8601 UTC."""
        return stamp(ts, intraday=self.bar < pd.Timedelta(days=1))


@dataclass(frozen=True)
class Finding:
    """What a check found: how many problems, where the first is, and a one-line detail."""

    count: int = 0
    first: pd.Timestamp | None = None
    detail: str = ""


OK = Finding()


def stamp(ts: pd.Timestamp | None, intraday: bool = False) -> str:
    """Return a date for midnight timestamps of daily data, else ISO 8601 UTC with a Z."""
    if ts is None:
        return ""
    if not intraday and ts == ts.normalize():
        return ts.strftime("%Y-%m-%d")
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def price_columns(frame: pd.DataFrame) -> list[str]:
    """Return the price columns present (OHLC plus adj_close)."""
    return [c for c in (*PRICES, "adj_close") if c in frame.columns]


def first_hit(frame: pd.DataFrame, mask: np.ndarray | pd.Series) -> pd.Timestamp | None:
    """Return the timestamp of the first True in ``mask``."""
    hits = np.flatnonzero(np.asarray(mask))
    return None if hits.size == 0 else frame.index[hits[0]]


def runs(mask: np.ndarray, min_run: int) -> list[tuple[int, int]]:
    """Return (start, stop) slices of runs of True at least ``min_run`` long."""
    m = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    pairs = zip(edges[0::2], edges[1::2], strict=True)
    return [(int(a), int(b)) for a, b in pairs if b - a >= min_run]
