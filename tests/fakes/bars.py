"""Bar tables for the fakes: scripted, synthetic (seeded) or read from the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["open", "high", "low", "close", "volume"]


def scripted_bars(
    rows: list[tuple[float, float, float, float]],
    start: str = "2024-01-01",
    freq: str = "1h",
    volume: float = 1000.0,
) -> pd.DataFrame:
    """Return bars from ``(open, high, low, close)`` rows, one per ``freq`` from ``start`` (UTC)."""
    index = pd.date_range(pd.Timestamp(start, tz="UTC"), periods=len(rows), freq=freq)
    df = pd.DataFrame(rows, index=index, columns=COLUMNS[:4], dtype=float)
    df["volume"] = volume
    return df


def random_bars(
    n: int,
    start: str = "2024-01-01",
    freq: str = "1h",
    price: float = 100.0,
    vol: float = 0.01,
    seed: int = 0,
) -> pd.DataFrame:
    """Return ``n`` seeded random-walk bars (UTC index of bar start times)."""
    rng = np.random.default_rng(seed)
    closes = price * np.exp(np.cumsum(rng.normal(0, vol, n)))
    opens = np.concatenate([[price], closes[:-1]])
    wick = np.abs(rng.normal(0, vol / 2, n)) * closes
    rows = list(
        zip(
            opens,
            np.maximum(opens, closes) + wick,
            np.minimum(opens, closes) - wick,
            closes,
            strict=True,
        )
    )
    bars = scripted_bars([tuple(map(float, r)) for r in rows], start, freq)
    bars["volume"] = rng.integers(100, 10_000, n).astype(float)
    return bars


def market_data_dir() -> Path:
    """Return the shared data folder (``MARKET_DATA_DIR`` or ``../shared/data`` from the repo)."""
    default = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    return Path(os.environ.get("MARKET_DATA_DIR", default))


def load_bars(relative: str, rows: int | None = None) -> pd.DataFrame | None:
    """Return bars from a CSV under the shared data folder, or None if it is absent."""
    path = market_data_dir() / relative
    if not path.is_file():
        return None
    df = pd.read_csv(path)
    time_col = "timestamp" if "timestamp" in df.columns else "date"
    df.index = pd.to_datetime(df.pop(time_col), utc=True)
    df = df[COLUMNS].astype(float)
    return df.iloc[:rows] if rows else df
