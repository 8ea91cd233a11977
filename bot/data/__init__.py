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
from bot.data.resample import align_higher, multi_timeframe, resample_bars
from bot.data.sample import sample_bars
from bot.data.schema import slice_bounds
from bot.data.timeframes import bounds, parse_timeframe
from bot.data.validation import summary_lines, validate_bars
from bot.data.validation_config import DataValidationConfig
from bot.errors import ConfigError

__all__ = [
    "align_higher", "multi_timeframe", "resample_bars",
    "SOURCES", "DataValidationConfig", "data_hash", "data_manifest", "load_bars", "load_validated",
    "read_csv_bars", "sample_bars", "summary_lines", "symbol_hash", "validate_bars",
]

SOURCES: tuple[str, ...] = ("csv", "sample")


def _load_csv(folder: Path, symbol: str, lo, hi, strict: bool) -> pd.DataFrame:
    path = resolve_symbol_file(folder, symbol)
    frame = read_csv_bars(path, strict=strict)
    if strict:
        frame = drop_partial_last_candle(frame, str(path))
    out = slice_bounds(frame, lo, hi)
    out.attrs["source"] = str(path)
    return out


def load_bars(
    source: str,
    symbols: list[str],
    timeframe: str = "1d",
    start=None,
    end=None,
    path: str | None = None,
    seed: int = 0,
    *,
    strict: bool = True,
) -> dict[str, pd.DataFrame]:
    """Load bars for ``symbols`` (in that order) with start/end both inclusive.

    ``strict`` (default) raises DataError on any bad value or order and drops a partial last
    crypto candle; ``strict=False`` keeps them for ``validate_bars`` to judge by policy.

    A date-only ``end`` ("2020-01-31" or a ``datetime.date``) includes that whole day.
    ``source`` "csv" reads ``<path>/<SYMBOL>.csv`` (BTC/USDT -> BTC_USDT.csv);
    "sample" generates deterministic synthetic bars from ``seed``.
    """
    parse_timeframe(timeframe)
    lo, hi = bounds(start, end)
    if source == "csv":
        folder = check_folder(path)
        return {s: _load_csv(folder, s, lo, hi, strict) for s in symbols}
    if source == "sample":
        return {s: sample_bars(s, timeframe, lo, hi, seed) for s in symbols}
    raise ConfigError("data.source", f"unknown source {source!r} (choose one of: {', '.join(SOURCES)})")


def load_validated(
    source: str,
    symbols: list[str],
    timeframe: str = "1d",
    start=None,
    end=None,
    path: str | None = None,
    seed: int = 0,
    *,
    validation: DataValidationConfig | None = None,
    now=None,
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Load leniently, then apply the validation policies; return (bars, data_validation report)."""
    bars = load_bars(source, symbols, timeframe, start, end, path, seed, strict=False)
    return validate_bars(bars, validation or DataValidationConfig(), timeframe, now=now)
