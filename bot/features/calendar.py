"""Calendar features from the bar timestamps (UTC)."""

from __future__ import annotations

import pandas as pd

from bot.errors import DataError
from bot.features.registry import Feature, table


def _index(bars: pd.DataFrame) -> pd.DatetimeIndex:
    if not isinstance(bars.index, pd.DatetimeIndex):
        raise DataError("bars", "calendar features need a DatetimeIndex")
    return bars.index


def day_of_week(bars: pd.DataFrame) -> pd.Series:
    """Day of week of the bar timestamp, Monday = 0 .. Sunday = 6; no warm-up."""
    return pd.Series(_index(bars).day_of_week, index=bars.index, dtype="float64")


def month(bars: pd.DataFrame) -> pd.Series:
    """Month of the bar timestamp, 1 .. 12; no warm-up."""
    return pd.Series(_index(bars).month, index=bars.index, dtype="float64")


def day_of_month(bars: pd.DataFrame) -> pd.Series:
    """Day of month of the bar timestamp, 1 .. 31; no warm-up."""
    return pd.Series(_index(bars).day, index=bars.index, dtype="float64")


FEATURES: dict[str, Feature] = table(
    Feature("day_of_week", day_of_week, "timestamp weekday, Mon = 0 .. Sun = 6", 0),
    Feature("month", month, "timestamp month, 1 .. 12", 0),
    Feature("day_of_month", day_of_month, "timestamp day of month, 1 .. 31", 0),
)
