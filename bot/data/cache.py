"""Local Parquet cache: one file per symbol and timeframe; fetch only the missing range.

Layout: ``<folder>/<timeframe>/<SYMBOL>.parquet`` (BTC/USDT -> BTC_USDT.parquet). Each file
records in its Parquet metadata the range already asked of the source ("coverage"), so
holidays and outages inside it are not fetched again. A coverage end never passes the last
bar that had closed when it was fetched, so a still-forming candle is fetched again later.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from loguru import logger

from bot.data.csv_source import symbol_file
from bot.data.providers.base import BarProvider, Clock, system_clock
from bot.data.schema import empty_frame, finalize, slice_bounds
from bot.errors import DataError
from bot.timeframes import parse_timeframe

META_KEY = b"market_predictor.coverage"
ONE_NS = pd.Timedelta(1, unit="ns")


@dataclass(frozen=True)
class Coverage:
    """The inclusive range already fetched (None = open-ended) and the source that served it."""

    start: pd.Timestamp | None
    end: pd.Timestamp | None
    source: str = ""


def cache_file(folder: str | Path, symbol: str, timeframe: str) -> Path:
    """Return the cache file of ``symbol`` at ``timeframe``."""
    return symbol_file(Path(folder) / timeframe, symbol, ".parquet")


def _ts(value: str | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value).tz_convert("UTC")


def read_cache(path: Path) -> tuple[pd.DataFrame, Coverage] | None:
    """Return (bars, coverage) of a cache file, or None when there is none."""
    if not path.is_file():
        return None
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise DataError(f"{path}:-", f"unreadable cache file (delete it to refetch): {e}") from e
    meta = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
    frame = finalize(table.to_pandas())
    cov = Coverage(_ts(meta.get("start")), _ts(meta.get("end")), meta.get("source", ""))
    return frame, cov


def write_cache(path: Path, frame: pd.DataFrame, cov: Coverage) -> None:
    """Write bars and coverage atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=True)
    meta = {
        "start": cov.start.isoformat() if cov.start is not None else None,
        "end": cov.end.isoformat() if cov.end is not None else None,
        "source": cov.source,
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: json.dumps(meta).encode()})
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def _may_hold_a_bar(lo: pd.Timestamp | None, hi: pd.Timestamp, bar: pd.Timedelta | None) -> bool:
    """Return False when no bar of length ``bar`` (on the UTC epoch grid) can open in [lo, hi]."""
    if lo is None or bar is None or pd.Timedelta(days=1) % bar != pd.Timedelta(0):
        return lo is None or lo <= hi
    first = -(-lo.value // bar.value) * bar.value  # first grid point >= lo
    return first <= hi.value


def missing_ranges(
    cov: Coverage | None, start: pd.Timestamp | None, end: pd.Timestamp, bar: pd.Timedelta | None = None
) -> list[tuple[pd.Timestamp | None, pd.Timestamp]]:
    """Return the parts of [start, end] not inside ``cov`` (skipping parts where no bar can open)."""
    if cov is None:
        return [(start, end)]
    out: list[tuple[pd.Timestamp | None, pd.Timestamp]] = []
    if cov.start is not None and (start is None or start < cov.start):
        out.append((start, min(end, cov.start - ONE_NS)))
    if cov.end is not None and end > cov.end:
        lo = cov.end + ONE_NS
        out.append((lo if start is None else max(start, lo), end))
    return [(a, b) for a, b in out if _may_hold_a_bar(a, b, bar)]


def _union(cov: Coverage | None, start: pd.Timestamp | None, end: pd.Timestamp, source: str) -> Coverage:
    if cov is None:
        return Coverage(start, end, source)
    lo = None if start is None or cov.start is None else min(start, cov.start)
    hi = max(end, cov.end) if cov.end is not None else end
    return Coverage(lo, hi, source)


class ParquetCache:
    """Wrap a provider with the local Parquet cache (a provider itself)."""

    def __init__(self, inner: BarProvider, folder: str | Path, clock: Clock = system_clock):
        self.inner = inner
        self.folder = Path(folder)
        self.clock = clock
        self.name = f"cache({inner.name})"

    def get_bars(
        self, symbol: str, timeframe: str, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> pd.DataFrame:
        """Return cached bars, fetching only the ranges the cache has not covered yet."""
        bar = parse_timeframe(timeframe)
        closed_by = self.clock() - bar  # bars opening after this may still be forming
        want_end = closed_by if end is None else min(end, closed_by)
        path = cache_file(self.folder, symbol, timeframe)
        cached = read_cache(path)
        frame, cov = cached if cached else (None, None)
        gaps = missing_ranges(cov, start, want_end, bar)
        if gaps:
            parts = [frame] if frame is not None else []
            for lo, hi in gaps:
                logger.info("{} {}: fetching {} .. {} from {}", symbol, timeframe, lo, hi, self.inner.name)
                got = self.inner.get_bars(symbol, timeframe, lo, hi)
                if not got.empty:
                    parts.append(finalize(got))
            merged = pd.concat(parts) if parts else empty_frame()
            merged = merged[~merged.index.duplicated(keep="last")].sort_index()
            cov = _union(cov, start, want_end, self.inner.name)
            write_cache(path, merged, cov)
            frame = merged
        out = slice_bounds(frame, start, end)
        out.attrs["source"] = str(path)
        return out
