"""Trend strength (ADX, +DI, -DI) and causal Ichimoku components."""

from __future__ import annotations

from functools import partial

import pandas as pd

from bot.features._math import safe_div, wilder
from bot.features.bands import true_range
from bot.features.registry import Feature, table


def _directional(bars: pd.DataFrame, n: int) -> tuple[pd.Series, pd.Series]:
    """Return (+DI, -DI) in [0, 100] with Wilder smoothing over n bars."""
    up = bars["high"].diff()
    down = -bars["low"].diff()
    plus_dm = up.where((up > down) & (up > 0), 0.0).where(up.notna())
    minus_dm = down.where((down > up) & (down > 0), 0.0).where(down.notna())
    tr = wilder(true_range(bars), n)
    return 100.0 * safe_div(wilder(plus_dm, n), tr), 100.0 * safe_div(wilder(minus_dm, n), tr)


def plus_di(bars: pd.DataFrame, n: int) -> pd.Series:
    """+DI(n) = 100 W(+DM) / W(TR); warm-up n rows."""
    return _directional(bars, n)[0]


def minus_di(bars: pd.DataFrame, n: int) -> pd.Series:
    """-DI(n) = 100 W(-DM) / W(TR); warm-up n rows."""
    return _directional(bars, n)[1]


def adx(bars: pd.DataFrame, n: int) -> pd.Series:
    """ADX(n) = W(DX), DX = 100 |+DI - -DI| / (+DI + -DI) (0 if both 0); warm-up 2n-1 rows."""
    pdi, mdi = _directional(bars, n)
    total = pdi + mdi
    dx = (100.0 * (pdi - mdi).abs() / total.where(total != 0)).mask(total == 0, 0.0)
    return wilder(dx, n)


def _mid(bars: pd.DataFrame, n: int) -> pd.Series:
    """Midpoint of the n-bar range, (HH_n + LL_n) / 2."""
    hh = bars["high"].rolling(n, min_periods=n).max()
    ll = bars["low"].rolling(n, min_periods=n).min()
    return (hh + ll) / 2.0


def _senkou_a(bars: pd.DataFrame) -> pd.Series:
    return (_mid(bars, 9) + _mid(bars, 26)) / 2.0


def ichi_tenkan(bars: pd.DataFrame) -> pd.Series:
    """Close / tenkan-sen (9-bar range midpoint) - 1; warm-up 8 rows."""
    return bars["close"] / _mid(bars, 9) - 1.0


def ichi_kijun(bars: pd.DataFrame) -> pd.Series:
    """Close / kijun-sen (26-bar range midpoint) - 1; warm-up 25 rows."""
    return bars["close"] / _mid(bars, 26) - 1.0


def ichi_tk(bars: pd.DataFrame) -> pd.Series:
    """Tenkan / kijun - 1 (the TK cross as a ratio); warm-up 25 rows."""
    return _mid(bars, 9) / _mid(bars, 26) - 1.0


def ichi_span_a(bars: pd.DataFrame) -> pd.Series:
    """Close / senkou span A computed at t (not shifted forward) - 1; warm-up 25 rows."""
    return bars["close"] / _senkou_a(bars) - 1.0


def ichi_span_b(bars: pd.DataFrame) -> pd.Series:
    """Close / senkou span B (52-bar midpoint) computed at t - 1; warm-up 51 rows."""
    return bars["close"] / _mid(bars, 52) - 1.0


def ichi_cloud_a(bars: pd.DataFrame) -> pd.Series:
    """Close / the span A the chart shows at t (computed at t-26) - 1; warm-up 51 rows."""
    return bars["close"] / _senkou_a(bars).shift(26) - 1.0


def ichi_cloud_b(bars: pd.DataFrame) -> pd.Series:
    """Close / the span B the chart shows at t (computed at t-26) - 1; warm-up 77 rows."""
    return bars["close"] / _mid(bars, 52).shift(26) - 1.0


def ichi_chikou(bars: pd.DataFrame) -> pd.Series:
    """Causal chikou: close vs the close 26 bars ago, c_t / c_{t-26} - 1; warm-up 26 rows."""
    c = bars["close"]
    return c / c.shift(26) - 1.0


FEATURES: dict[str, Feature] = table(
    Feature("adx_14", partial(adx, n=14), "W14(DX), DX = 100 abs(+DI - -DI) / (+DI + -DI)", 27),
    Feature("plus_di_14", partial(plus_di, n=14), "100 W14(+DM) / W14(TR)", 14),
    Feature("minus_di_14", partial(minus_di, n=14), "100 W14(-DM) / W14(TR)", 14),
    Feature("ichi_tenkan", ichi_tenkan, "c / ((HH9 + LL9) / 2) - 1", 8),
    Feature("ichi_kijun", ichi_kijun, "c / ((HH26 + LL26) / 2) - 1", 25),
    Feature("ichi_tk", ichi_tk, "tenkan / kijun - 1", 25),
    Feature("ichi_span_a", ichi_span_a, "c / ((tenkan + kijun) / 2) - 1, unshifted", 25),
    Feature("ichi_span_b", ichi_span_b, "c / ((HH52 + LL52) / 2) - 1, unshifted", 51),
    Feature("ichi_cloud_a", ichi_cloud_a, "c_t / span_a_(t-26) - 1", 51),
    Feature("ichi_cloud_b", ichi_cloud_b, "c_t / span_b_(t-26) - 1", 77),
    Feature("ichi_chikou", ichi_chikou, "c_t / c_(t-26) - 1", 26),
)
