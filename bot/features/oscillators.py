"""RSI and MACD."""

from __future__ import annotations

from functools import partial

import pandas as pd

from bot.features._math import ema, wilder
from bot.features.registry import Feature, table


def rsi(bars: pd.DataFrame, n: int) -> pd.Series:
    """Wilder RSI(n) in [0, 100] (50 when flat); warm-up n rows."""
    d = bars["close"].diff()
    gain = wilder(d.clip(lower=0.0), n)
    loss = wilder((-d).clip(lower=0.0), n)
    total = gain + loss
    out = 100.0 * gain / total.where(total != 0)
    return out.mask(total == 0, 50.0)


def _macd_line(close: pd.Series, fast: int, slow: int) -> pd.Series:
    return ema(close, fast) - ema(close, slow)


def macd(bars: pd.DataFrame, fast: int = 12, slow: int = 26) -> pd.Series:
    """MACD line EMA(c, 12) - EMA(c, 26), price units; warm-up 25 rows."""
    return _macd_line(bars["close"], fast, slow)


def macd_signal(bars: pd.DataFrame, fast: int = 12, slow: int = 26, sig: int = 9) -> pd.Series:
    """EMA(MACD, 9) started at the first MACD value; warm-up 33 rows."""
    return ema(_macd_line(bars["close"], fast, slow), sig)


def macd_hist(bars: pd.DataFrame, fast: int = 12, slow: int = 26, sig: int = 9) -> pd.Series:
    """MACD - signal; warm-up 33 rows."""
    line = _macd_line(bars["close"], fast, slow)
    return line - ema(line, sig)


FEATURES: dict[str, Feature] = table(
    Feature("rsi_14", partial(rsi, n=14), "100 * W(gain) / (W(gain) + W(loss)), Wilder n=14", 14),
    Feature("macd", macd, "EMA(c,12) - EMA(c,26), adjust=False", 25),
    Feature("macd_signal", macd_signal, "EMA(macd, 9), adjust=False", 33),
    Feature("macd_hist", macd_hist, "macd - macd_signal", 33),
)
