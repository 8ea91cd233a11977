"""Bar providers behind one interface, a fallback chain and a factory from config names.

    build_provider(["alpaca", "yfinance"], ProviderSettings(...)).get_bars("SPY", "1d", start, end)

Network providers (alpaca, ccxt, yfinance) import their SDK only when built. The venue-backed
sources (alpaca, ccxt) live in ``bot.venues`` (the only package that imports venue SDKs), above
this layer: it registers them here with :func:`register_source` when imported
(``bot.venues.sources``); ``bot.configure`` and ``python -m bot.data`` import it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.data.providers.base import BarProvider, Clock, schema_problem, system_clock
from bot.data.providers.chain import FallbackProvider
from bot.data.providers.local import CsvProvider, ParquetProvider, SampleProvider
from bot.errors import ConfigError

PROVIDERS: tuple[str, ...] = ("csv", "parquet", "sample", "yfinance", "alpaca", "ccxt")

__all__ = [
    "PROVIDERS",
    "BarProvider",
    "Clock",
    "CsvProvider",
    "FallbackProvider",
    "ParquetProvider",
    "ProviderSettings",
    "SampleProvider",
    "build_provider",
    "register_source",
    "schema_problem",
    "system_clock",
]


class ProviderSettings(BaseModel):
    """Settings the providers need besides symbol/timeframe/range (secrets come from the environment)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str | None = None  # CSV or Parquet folder
    seed: int = 0  # sample generator
    exchange: str = "binance"  # ccxt exchange id
    url: str | None = None  # base-URL override of network providers (tests, proxies)
    feed: Literal["iex", "sip"] = "iex"  # alpaca stock feed
    adjustment: Literal["raw", "split", "dividend", "all"] = "raw"  # alpaca price adjustment
    strict: bool = True  # CSV: raise on any bad line instead of leaving it to validate_bars
    retries: int = Field(default=3, ge=0)  # network: retries of transient errors / rate limits
    backoff: float = Field(default=1.0, ge=0)  # network: first wait in seconds, doubled per retry


SourceFactory = Callable[[str, "ProviderSettings", Clock], BarProvider]  # (arg after ':', settings, clock)
_SOURCES: dict[str, SourceFactory] = {}


def register_source(kind: str, factory: SourceFactory) -> None:
    """Make ``kind`` (as in ``data.source: kind`` or ``kind:arg``) build providers with ``factory``."""
    if kind not in PROVIDERS:
        raise ValueError(f"unknown source kind {kind!r}")
    _SOURCES[kind] = factory


def _yfinance(arg: str, s: ProviderSettings, clock: Clock) -> BarProvider:
    from bot.data.providers.yfinance_provider import YFinanceProvider  # lazy: yfinance SDK

    return YFinanceProvider()


_SOURCES.update(
    {
        "csv": lambda arg, s, clock: CsvProvider(s.path, strict=s.strict),
        "parquet": lambda arg, s, clock: ParquetProvider(s.path),
        "sample": lambda arg, s, clock: SampleProvider(s.seed),
        "yfinance": _yfinance,
    }
)


def _one(name: str, s: ProviderSettings, clock: Clock) -> BarProvider:
    kind, _, arg = name.partition(":")
    factory = _SOURCES.get(kind)
    if factory is not None:
        return factory(arg, s, clock)
    if kind in PROVIDERS:  # a venue-backed source whose package was not imported
        raise ConfigError("data.source", f"source {name!r} needs bot.venues: import bot.venues.sources first")
    raise ConfigError("data.source", f"unknown source {name!r} (choose one of: {', '.join(PROVIDERS)})")


def build_provider(
    sources: str | list[str], settings: ProviderSettings | None = None, clock: Clock = system_clock
) -> BarProvider:
    """Build one provider, or a fallback chain when given several names ("ccxt:kraken" picks an exchange)."""
    names = [sources] if isinstance(sources, str) else list(sources)
    if not names:
        raise ConfigError("data.sources", "no data source given")
    s = settings or ProviderSettings()
    built = [_one(n, s, clock) for n in names]
    return built[0] if len(built) == 1 else FallbackProvider(built)
