"""Local providers: a CSV folder, a Parquet folder and the synthetic sample generator."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bot.data.csv_source import check_folder, read_csv_bars, resolve_symbol_file, symbol_file
from bot.data.partial import drop_partial_last_candle
from bot.data.sample import sample_bars
from bot.data.schema import finalize, slice_bounds
from bot.errors import DataError


class CsvProvider:
    """Read ``<folder>/<SYMBOL>.csv`` (BTC/USDT -> BTC_USDT.csv).

    ``strict`` raises DataError on any bad line and drops a partial last crypto candle;
    otherwise bad values are kept for ``validate_bars``.
    """

    name = "csv"

    def __init__(self, folder: str | Path | None, strict: bool = True):
        self.folder = check_folder(folder)
        self.strict = strict

    def get_bars(
        self, symbol: str, timeframe: str, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> pd.DataFrame:
        """Return the file's bars between start and end (inclusive)."""
        path = resolve_symbol_file(self.folder, symbol)
        frame = read_csv_bars(path, strict=self.strict)
        if self.strict:
            frame = drop_partial_last_candle(frame, str(path))
        out = slice_bounds(frame, start, end)
        out.attrs["source"] = str(path)
        return out


def read_parquet_bars(path: str | Path) -> pd.DataFrame:
    """Read one Parquet bar file written by the cache (or any frame with a UTC timestamp index)."""
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}:-", f"unreadable Parquet file: {' '.join(str(e).split())}") from e
    if "timestamp" in frame.columns:
        frame = frame.set_index("timestamp")
    out = finalize(frame)
    out.attrs["source"] = str(path)
    return out


class ParquetProvider:
    """Read ``<folder>/<SYMBOL>.parquet`` or ``<folder>/<timeframe>/<SYMBOL>.parquet`` (cache layout)."""

    name = "parquet"

    def __init__(self, folder: str | Path | None):
        self.folder = check_folder(folder)

    def _file(self, symbol: str, timeframe: str) -> Path:
        nested = symbol_file(self.folder / timeframe, symbol, ".parquet")
        if nested.is_file():
            return nested
        return resolve_symbol_file(self.folder, symbol, ".parquet")

    def get_bars(
        self, symbol: str, timeframe: str, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> pd.DataFrame:
        """Return the file's bars between start and end (inclusive)."""
        path = self._file(symbol, timeframe)
        out = slice_bounds(read_parquet_bars(path), start, end)
        out.attrs["source"] = str(path)
        return out


class SampleProvider:
    """Deterministic synthetic bars (see ``bot.data.sample``)."""

    name = "sample"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def get_bars(
        self, symbol: str, timeframe: str, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> pd.DataFrame:
        """Return synthetic bars between start and end (default 2010..2019)."""
        out = sample_bars(symbol, timeframe, start, end, self.seed)
        out.attrs["source"] = f"sample:{symbol}"
        return out
