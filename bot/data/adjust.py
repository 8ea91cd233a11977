"""Choose the price series: raw OHLC, or OHLC adjusted for splits and dividends via adj_close.

Adjusted OHLC = raw OHLC x (adj_close / close) for each bar; volume is left as the source gave it
(Yahoo volumes are already split-adjusted). Every frame records its series in
``attrs["prices"]`` ("raw" or "adjusted"), which ``validate_bars`` copies into the report.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from loguru import logger

PriceSeries = Literal["raw", "adjusted"]


def adjust_prices(frame: pd.DataFrame, prices: PriceSeries, name: str = "") -> pd.DataFrame:
    """Return ``frame`` in the chosen price series (adjusted needs adj_close; else raw, logged)."""
    if prices == "raw" or frame.empty:
        out = frame.copy()
        out.attrs["prices"] = "raw"
        return out
    if "adj_close" not in frame.columns:
        logger.warning("{}: no adj_close column, using raw prices", name or frame.attrs.get("source", "?"))
        out = frame.copy()
        out.attrs["prices"] = "raw (no adj_close)"
        return out
    factor = frame["adj_close"] / frame["close"]
    out = frame.drop(columns="adj_close")
    for col in ("open", "high", "low", "close"):
        out[col] = frame[col] * factor
    out.attrs = {**frame.attrs, "prices": "adjusted"}
    return out
