"""The bar schema every loader returns, and helpers to enforce it."""

from __future__ import annotations

import pandas as pd

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
REQUIRED_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")
OPTIONAL_COLUMNS: tuple[str, ...] = ("adj_close",)
INDEX_NAME = "timestamp"


def finalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the schema columns as float64 under a UTC DatetimeIndex named "timestamp"."""
    cols = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in frame.columns]
    out = frame.loc[:, cols].astype("float64")
    idx = pd.DatetimeIndex(out.index)
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    out.index = idx.as_unit("ns").rename(INDEX_NAME)
    return out


def slice_bounds(frame: pd.DataFrame, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> pd.DataFrame:
    """Return the bars with lo <= timestamp <= hi (both inclusive, None = open)."""
    mask = pd.Series(True, index=frame.index)
    if lo is not None:
        mask &= frame.index >= lo
    if hi is not None:
        mask &= frame.index <= hi
    return frame.loc[mask.to_numpy()]


def empty_frame(with_adj: bool = False) -> pd.DataFrame:
    """Return an empty frame in the bar schema."""
    cols = [*REQUIRED_COLUMNS, *(OPTIONAL_COLUMNS if with_adj else ())]
    idx = pd.DatetimeIndex([], tz="UTC", name=INDEX_NAME).as_unit("ns")
    return pd.DataFrame({c: pd.Series([], dtype="float64") for c in cols}, index=idx)


def union_calendar(bars) -> pd.DatetimeIndex:
    """Return the sorted union of the bar timestamps of every symbol in ``bars`` (symbol -> frame)."""
    return pd.DatetimeIndex(sorted(set().union(*(df.index for df in bars.values()))))
