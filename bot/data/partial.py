"""Detect the partial (still-forming) last candle of an exchange export."""

from __future__ import annotations

import numpy as np
import pandas as pd
from loguru import logger

LOOKBACK = 30
MIN_VOLUME_RATIO = 0.30
MIN_WEEKEND_SHARE = 0.15  # 24/7 markets have ~2/7 of their bars on weekends


def trades_24_7(index: pd.DatetimeIndex) -> bool:
    """Return True when the bars cover weekends like a crypto market does."""
    if len(index) < 7:
        return False
    weekend = np.asarray(index.day_of_week >= 5)
    return bool(weekend.mean() >= MIN_WEEKEND_SHARE)


def partial_last_candle(frame: pd.DataFrame, lookback: int = LOOKBACK, ratio: float = MIN_VOLUME_RATIO) -> bool:
    """Return True when the last bar looks still forming (volume far below recent median)."""
    if len(frame) <= lookback or not trades_24_7(pd.DatetimeIndex(frame.index)):
        return False
    vol = frame["volume"].to_numpy()
    median = float(np.median(vol[-lookback - 1 : -1]))
    return median > 0 and float(vol[-1]) < ratio * median


def drop_partial_last_candle(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Drop the last bar of ``frame`` if it is a partial candle, logging a warning."""
    if not partial_last_candle(frame):
        return frame
    last = frame.index[-1]
    vol = frame["volume"].iloc[-1]
    median = float(np.median(frame["volume"].to_numpy()[-LOOKBACK - 1 : -1]))
    logger.warning(
        "{}: dropped partial last candle {} (volume {:g} is {:.1%} of the {}-bar median {:g})",
        name,
        last.isoformat(),
        vol,
        vol / median,
        LOOKBACK,
        median,
    )
    return frame.iloc[:-1]
