"""Market data: load OHLCV bars from a CSV folder or the synthetic sample generator.

Every loader returns frames in one schema: a tz-aware UTC ``DatetimeIndex`` named
"timestamp" (strictly increasing, unique) and float64 columns open, high, low, close,
volume, plus adj_close when the source has it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bot.data.csv_source import check_folder, read_csv_bars, resolve_symbol_file
from bot.data.hashing import data_hash, data_manifest, symbol_hash
from bot.data.partial import drop_partial_last_candle
from bot.data.sample import sample_bars
from bot.data.schema import slice_bounds
from bot.data.timeframes import bounds, parse_timeframe
from bot.errors import ConfigError

__all__ = [
    "SOURCES", "data_hash", "data_manifest", "load_bars", "read_csv_bars", "sample_bars", "symbol_hash",
]

SOURCES: tuple[str, ...] = ("csv", "sample")


def _load_csv(folder: Path, symbol: str, lo, hi) -> pd.DataFrame:
    path = resolve_symbol_file(folder, symbol)
    frame = drop_partial_last_candle(read_csv_bars(path), str(path))
    return slice_bounds(frame, lo, hi)


def load_bars(
    source: str,
    symbols: list[str],
    timeframe: str = "1d",
    start=None,
    end=None,
    path: str | None = None,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """Load bars for ``symbols`` (in that order) with start/end both inclusive.

    A date-only ``end`` ("2020-01-31" or a ``datetime.date``) includes that whole day.
    ``source`` "csv" reads ``<path>/<SYMBOL>.csv`` (BTC/USDT -> BTC_USDT.csv);
    "sample" generates deterministic synthetic bars from ``seed``.
    """
    parse_timeframe(timeframe)
    lo, hi = bounds(start, end)
    if source == "csv":
        folder = check_folder(path)
        return {s: _load_csv(folder, s, lo, hi) for s in symbols}
    if source == "sample":
        return {s: sample_bars(s, timeframe, lo, hi, seed) for s in symbols}
    raise ConfigError("data.source", f"unknown source {source!r} (choose one of: {', '.join(SOURCES)})")
