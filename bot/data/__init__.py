"""Market data: providers (CSV, Parquet, sample, yfinance, Alpaca, CCXT), cache, validation, hashing.

Every loader returns frames in one schema: a tz-aware UTC ``DatetimeIndex`` named
"timestamp" (strictly increasing, unique) and float64 columns open, high, low, close,
volume, plus adj_close when the source has it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bot.config.data_validation import DataValidationConfig
from bot.data.adjust import PriceSeries, adjust_prices
from bot.data.cache import ParquetCache
from bot.data.csv_source import read_csv_bars
from bot.data.hashing import data_hash, data_manifest, symbol_hash
from bot.data.providers import (
    PROVIDERS,
    Clock,
    ProviderSettings,
    build_provider,
    schema_problem,
    system_clock,
)
from bot.data.resample import align_higher, multi_timeframe, resample_bars
from bot.data.sample import sample_bars
from bot.data.validation import summary_lines, validate_bars
from bot.errors import DataError
from bot.timeframes import bounds, parse_timeframe

__all__ = [
    "DataValidationConfig",
    "ParquetCache",
    "ProviderSettings",
    "SOURCES",
    "adjust_prices",
    "align_higher",
    "build_provider",
    "data_hash",
    "data_manifest",
    "load_bars",
    "load_validated",
    "multi_timeframe",
    "read_csv_bars",
    "resample_bars",
    "sample_bars",
    "summary_lines",
    "symbol_hash",
    "validate_bars",
]

SOURCES: tuple[str, ...] = PROVIDERS


def _settings(settings: ProviderSettings | None, path: str | None, seed: int, strict: bool) -> ProviderSettings:
    base = settings or ProviderSettings()
    update: dict = {"strict": strict}
    if path is not None:
        update["path"] = str(path)
    if settings is None or seed:
        update["seed"] = seed
    return base.model_copy(update=update)


def _checked(frame: pd.DataFrame, symbol: str) -> pd.DataFrame:
    problem = None if frame.empty else schema_problem(frame)
    if problem:
        raise DataError(f"{frame.attrs.get('source', symbol)}:-", f"{symbol}: {problem}")
    return frame


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
    sources: list[str] | None = None,
    cache_dir: str | Path | None = None,
    settings: ProviderSettings | None = None,
    clock: Clock = system_clock,
    prices: PriceSeries = "raw",
) -> dict[str, pd.DataFrame]:
    """Load bars for ``symbols`` (in that order) with start/end both inclusive.

    A date-only ``end`` ("2020-01-31" or a ``datetime.date``) includes that whole day.
    ``source`` "csv" reads ``<path>/<SYMBOL>.csv`` (BTC/USDT -> BTC_USDT.csv), "parquet"
    ``<path>/<SYMBOL>.parquet``, "sample" generates deterministic bars from ``seed``;
    "yfinance", "alpaca", "ccxt" (or "ccxt:<exchange>") download. ``sources`` is a fallback
    chain used instead of ``source``; ``cache_dir`` keeps a Parquet cache that fetches only
    missing ranges. ``strict`` (default) raises DataError on any bad value or order and drops a
    partial last crypto candle; ``strict=False`` keeps them for ``validate_bars``.
    ``prices`` "adjusted" turns OHLC into split/dividend-adjusted prices via adj_close (which is
    then dropped); each frame's ``attrs["prices"]`` says which series it holds.
    """
    parse_timeframe(timeframe)
    lo, hi = bounds(start, end)
    provider = build_provider(sources or source, _settings(settings, path, seed, strict), clock)
    if cache_dir is not None:
        provider = ParquetCache(provider, cache_dir, clock)
    out = {}
    for symbol in symbols:
        frame = provider.get_bars(symbol, timeframe, lo, hi)
        frame = _checked(frame, symbol) if strict else frame
        out[symbol] = adjust_prices(frame, prices, symbol)
    return out


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
    strict: bool = False,
    **kwargs,
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Load, then apply the validation policies; return (bars, data_validation report).

    Lenient by default (bad rows reach the validation policies); ``strict`` makes the loader stop at
    the first bad line instead. ``kwargs`` go to ``load_bars`` (sources, cache_dir, prices, ...).
    """
    bars = load_bars(source, symbols, timeframe, start, end, path, seed, strict=strict, **kwargs)
    return validate_bars(bars, validation or DataValidationConfig(), timeframe, now=now)
