"""Fill the Parquet cache in chunks, so an interrupted download resumes where it stopped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from loguru import logger

from bot.data.cache import ParquetCache, cache_file, read_cache
from bot.progress import progress
from bot.timeframes import parse_timeframe

BARS_PER_CHUNK = 1000
Report = Callable[[str, int, int, pd.Timestamp], None]


@dataclass(frozen=True)
class DownloadResult:
    """What one symbol's download left in the cache."""

    symbol: str
    rows: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    chunks_fetched: int


def chunk_ends(
    start: pd.Timestamp, end: pd.Timestamp, timeframe: str, bars_per_chunk: int = BARS_PER_CHUNK
) -> list[pd.Timestamp]:
    """Return the end of each chunk of about ``bars_per_chunk`` bars from start to end."""
    step = parse_timeframe(timeframe) * bars_per_chunk
    ends = list(pd.date_range(start + step, end, freq=step)) if start + step < end else []
    return [*[e - pd.Timedelta(1, "ns") for e in ends], end]


def log_chunk(symbol: str, done: int, total: int, upto: pd.Timestamp) -> None:
    """Log one finished chunk at debug level (``-v``); a terminal also gets a progress bar."""
    logger.debug(f"{symbol}: chunk {done}/{total} up to {upto:%Y-%m-%d %H:%M}")


def download(
    cache: ParquetCache,
    symbols: list[str],
    timeframe: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    report: Report | None = None,
    bars_per_chunk: int = BARS_PER_CHUNK,
) -> list[DownloadResult]:
    """Fetch [start, end] for each symbol into ``cache``, persisting after every chunk.

    A progress bar per symbol counts the chunks when stderr is a terminal (:mod:`bot.progress`).
    """
    results = []
    for symbol in symbols:
        ends = chunk_ends(start, end, timeframe, bars_per_chunk)
        fetched = 0
        with progress(len(ends), desc=f"{symbol} {timeframe}", unit="chunk") as bar:
            for i, hi in enumerate(ends, 1):
                before = read_cache(cache_file(cache.folder, symbol, timeframe))
                cache.get_bars(symbol, timeframe, start, hi)
                after = read_cache(cache_file(cache.folder, symbol, timeframe))
                fetched += int(before is None or (after is not None and after[1] != before[1]))
                bar.update()
                if report:
                    report(symbol, i, len(ends), hi)
        cached = read_cache(cache_file(cache.folder, symbol, timeframe))
        frame = cached[0] if cached else pd.DataFrame()
        results.append(
            DownloadResult(
                symbol,
                len(frame),
                frame.index[0] if len(frame) else None,
                frame.index[-1] if len(frame) else None,
                fetched,
            )
        )
    return results
