"""Momentum oscillators: RSI, MACD / PPO, Stochastic, Williams %R."""

from __future__ import annotations

from functools import partial

import pandas as pd

from bot.features._math import ema, safe_div, sma, wilder
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


def _ppo_line(close: pd.Series, fast: int, slow: int) -> pd.Series:
    return ema(close, fast) / ema(close, slow) - 1.0


def ppo(bars: pd.DataFrame, fast: int = 12, slow: int = 26) -> pd.Series:
    """Scale-free MACD: EMA(c, 12) / EMA(c, 26) - 1; warm-up 25 rows."""
    return _ppo_line(bars["close"], fast, slow)


def ppo_signal(bars: pd.DataFrame, fast: int = 12, slow: int = 26, sig: int = 9) -> pd.Series:
    """EMA(PPO, 9) started at the first PPO value; warm-up 33 rows."""
    return ema(_ppo_line(bars["close"], fast, slow), sig)


def ppo_hist(bars: pd.DataFrame, fast: int = 12, slow: int = 26, sig: int = 9) -> pd.Series:
    """PPO - PPO signal; warm-up 33 rows."""
    line = _ppo_line(bars["close"], fast, slow)
    return line - ema(line, sig)


def _range(bars: pd.DataFrame, n: int) -> tuple[pd.Series, pd.Series]:
    hh = bars["high"].rolling(n, min_periods=n).max()
    ll = bars["low"].rolling(n, min_periods=n).min()
    return hh, ll


def stoch_k(bars: pd.DataFrame, n: int) -> pd.Series:
    """Fast Stochastic %K = 100 (c - LL_n) / (HH_n - LL_n); warm-up n-1 rows."""
    hh, ll = _range(bars, n)
    return 100.0 * safe_div(bars["close"] - ll, hh - ll)


def stoch_d(bars: pd.DataFrame, n: int, d: int = 3) -> pd.Series:
    """Stochastic %D = SMA(%K, 3); warm-up n+1 rows."""
    return sma(stoch_k(bars, n), d)


def williams_r(bars: pd.DataFrame, n: int) -> pd.Series:
    """Williams %R = -100 (HH_n - c) / (HH_n - LL_n), in [-100, 0]; warm-up n-1 rows."""
    hh, ll = _range(bars, n)
    return -100.0 * safe_div(hh - bars["close"], hh - ll)


FEATURES: dict[str, Feature] = table(
    *(
        Feature(f"rsi_{n}", partial(rsi, n=n), f"100 W(gain) / (W(gain) + W(loss)), Wilder n={n}", n)
        for n in (7, 14, 28)
    ),
    Feature("macd", macd, "EMA(c,12) - EMA(c,26), adjust=False (price units)", 25),
    Feature("macd_signal", macd_signal, "EMA(macd, 9), adjust=False", 33),
    Feature("macd_hist", macd_hist, "macd - macd_signal", 33),
    Feature("ppo", ppo, "EMA(c,12) / EMA(c,26) - 1", 25),
    Feature("ppo_signal", ppo_signal, "EMA(ppo, 9)", 33),
    Feature("ppo_hist", ppo_hist, "ppo - ppo_signal", 33),
    Feature("stoch_k_14", partial(stoch_k, n=14), "100 (c - LL14) / (HH14 - LL14)", 13),
    Feature("stoch_d_14", partial(stoch_d, n=14), "SMA(stoch_k_14, 3)", 15),
    Feature("williams_r_14", partial(williams_r, n=14), "-100 (HH14 - c) / (HH14 - LL14)", 13),
)
