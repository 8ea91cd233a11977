"""Deterministic synthetic OHLCV bars: GARCH(1,1) volatility, Student-t tails, per-symbol drift.

Each symbol draws from its own stream derived from (seed, symbol), so adding a symbol does not
change the others. The path is generated on a grid anchored at ``EPOCH`` (or at ``start`` when
that is earlier), so moving ``start``/``end`` after the epoch keeps the overlapping bars identical.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.data.schema import INDEX_NAME, finalize, slice_bounds
from bot.errors import ConfigError
from bot.timeframes import DAY, parse_timeframe

EPOCH = pd.Timestamp("2000-01-01", tz="UTC")
DEFAULT_START = pd.Timestamp("2010-01-01", tz="UTC")
DEFAULT_END = pd.Timestamp("2019-12-31 23:59:59.999999999", tz="UTC")
TRADING_DAYS = 252
MAX_ABS_LOG_RETURN = 0.5


@dataclass(frozen=True)
class SampleParams:
    """Per-symbol parameters of the generator, drawn from the symbol's stream."""

    annual_vol: float
    annual_drift: float
    tail_df: float
    alpha: float
    beta: float
    start_price: float
    base_volume: float


def _streams(seed: int, symbol: str, n: int) -> list[np.random.Generator]:
    key = zlib.crc32(symbol.encode("utf-8"))
    children = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, key]).spawn(n)
    return [np.random.default_rng(c) for c in children]


def draw_params(rng: np.random.Generator) -> SampleParams:
    """Draw plausible per-symbol parameters."""
    alpha = rng.uniform(0.04, 0.08)
    persistence = rng.uniform(0.95, 0.98)
    return SampleParams(
        annual_vol=rng.uniform(0.15, 0.45),
        annual_drift=rng.normal(0.06, 0.05),
        tail_df=rng.uniform(5.0, 8.0),
        alpha=alpha,
        beta=persistence - alpha,
        start_price=math.exp(rng.uniform(math.log(10), math.log(300))),
        base_volume=math.exp(rng.uniform(math.log(2e5), math.log(2e7))),
    )


def sample_grid(timeframe: str, lo: pd.Timestamp, hi: pd.Timestamp) -> tuple[pd.DatetimeIndex, float]:
    """Return the bar grid from the anchor to ``hi`` and the number of bars per year."""
    bar = parse_timeframe(timeframe)
    anchor = min(EPOCH, lo.floor("D"))
    if bar == DAY:
        grid = pd.bdate_range(anchor, hi, tz="UTC")
        return grid, float(TRADING_DAYS)
    if bar < DAY and DAY % bar == pd.Timedelta(0):
        grid = pd.date_range(anchor, hi, freq=bar, tz="UTC")
        return grid, 365.25 * (DAY / bar)
    raise ConfigError(
        "data.timeframe", f"sample data supports 1d or intraday timeframes dividing a day, not {timeframe!r}"
    )


def garch_returns(p: SampleParams, z: np.ndarray, bars_per_year: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (log returns, conditional variances) of a GARCH(1,1) driven by shocks ``z``."""
    var = p.annual_vol**2 / bars_per_year
    omega = var * (1.0 - p.alpha - p.beta)
    h = np.empty(len(z))
    prev_h, prev_eps2 = var, var
    a, b = p.alpha, p.beta
    for t in range(len(z)):
        prev_h = omega + a * prev_eps2 + b * prev_h
        h[t] = prev_h
        prev_eps2 = prev_h * z[t] * z[t]
    mu = p.annual_drift / bars_per_year
    r = mu - 0.5 * h + np.sqrt(h) * z
    return np.clip(r, -MAX_ABS_LOG_RETURN, MAX_ABS_LOG_RETURN), h


def _ohlcv(
    p: SampleParams,
    r: np.ndarray,
    h: np.ndarray,
    z: np.ndarray,
    rngs: list[np.random.Generator],
    daily: bool,
    var: float,
) -> dict[str, np.ndarray]:
    n = len(r)
    close = p.start_price * np.exp(np.cumsum(r))
    prev = np.concatenate(([p.start_price], close[:-1]))
    sd = np.sqrt(h)
    gap = rngs[0].normal(0.0, 1.0, n) * sd * (0.25 if daily else 0.02)
    open_ = prev * np.exp(np.clip(gap, -np.abs(r) - sd, np.abs(r) + sd))
    up = np.abs(rngs[1].normal(0.0, 1.0, n)) * sd * 0.5
    down = np.abs(rngs[2].normal(0.0, 1.0, n)) * sd * 0.5
    high = np.maximum(open_, close) * np.exp(up)
    low = np.minimum(open_, close) * np.exp(-down)
    noise = rngs[3].normal(0.0, 0.25, n)
    volume = p.base_volume * np.exp(0.45 * np.abs(z) + 0.25 * np.log(h / var) + noise)
    volume = np.round(volume) if daily else np.round(volume, 4)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def sample_bars(
    symbol: str,
    timeframe: str = "1d",
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Return synthetic bars for ``symbol`` between inclusive UTC bounds (default 2010..2019)."""
    lo = DEFAULT_START if start is None else start
    hi = DEFAULT_END if end is None else end
    grid, bars_per_year = sample_grid(timeframe, lo, hi)
    rngs = _streams(seed, symbol, 6)
    params = draw_params(rngs[0])
    z = rngs[1].standard_t(params.tail_df, len(grid)) * math.sqrt((params.tail_df - 2) / params.tail_df)
    r, h = garch_returns(params, z, bars_per_year)
    daily = parse_timeframe(timeframe) >= DAY
    cols = _ohlcv(params, r, h, z, rngs[2:], daily, params.annual_vol**2 / bars_per_year)
    frame = pd.DataFrame(cols, index=pd.DatetimeIndex(grid, name=INDEX_NAME))
    return slice_bounds(finalize(frame), lo, hi)
