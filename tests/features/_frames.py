"""Small deterministic bar frames for feature tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def tiny_closes(n: int = 60) -> list[float]:
    """Return a deterministic, wiggly close series as a plain list."""
    return [100 + 5 * math.sin(i * 0.7) + 0.3 * i + ((i * 37) % 11 - 5) * 0.4 for i in range(n)]


def tiny_bars(n: int = 60) -> pd.DataFrame:
    """Return an n-row OHLCV frame (daily UTC index) built from tiny_closes."""
    c = tiny_closes(n)
    o = [c[0]] + c[:-1]
    h = [max(a, b) + 0.5 + (i % 3) * 0.25 for i, (a, b) in enumerate(zip(o, c, strict=True))]
    lo = [min(a, b) - 0.4 - (i % 4) * 0.2 for i, (a, b) in enumerate(zip(o, c, strict=True))]
    v = [1000.0 + (i * 53) % 400 for i in range(n)]
    idx = pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC")
    return pd.DataFrame({"open": o, "high": h, "low": lo, "close": c, "volume": v}, index=idx)


def random_bars(n: int, seed: int, start: str = "2019-01-01", freq: str = "B") -> pd.DataFrame:
    """Return a random-walk OHLCV frame with valid OHLC relations."""
    rng = np.random.default_rng(seed)
    c = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.015, n)))
    o = c * np.exp(rng.normal(0, 0.005, n))
    h = np.maximum(o, c) * np.exp(np.abs(rng.normal(0, 0.006, n)))
    lo = np.minimum(o, c) * np.exp(-np.abs(rng.normal(0, 0.006, n)))
    v = rng.integers(1_000, 50_000, n).astype("float64")
    idx = pd.date_range(start, periods=n, freq=freq, tz="UTC")
    return pd.DataFrame({"open": o, "high": h, "low": lo, "close": c, "volume": v}, index=idx)
