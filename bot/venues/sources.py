"""Register the venue-backed bar sources (alpaca, ccxt) with the data layer's provider factory.

``bot.data`` sits below ``bot.venues`` and never imports it; importing this module (``bot.venues``
does) makes ``data.source: alpaca`` / ``ccxt[:exchange]`` build these providers. The SDKs load
only when a provider is built.
"""

from __future__ import annotations

from bot.data.providers import BarProvider, Clock, ProviderSettings, register_source


def _alpaca(arg: str, s: ProviderSettings, clock: Clock) -> BarProvider:
    from bot.venues.alpaca_data import AlpacaProvider  # lazy: alpaca SDK

    return AlpacaProvider(url=s.url, feed=s.feed, adjustment=s.adjustment, retries=s.retries, backoff=s.backoff)


def _ccxt(arg: str, s: ProviderSettings, clock: Clock) -> BarProvider:
    from bot.venues.ccxt_data import CcxtProvider  # lazy: ccxt SDK

    return CcxtProvider(arg or s.exchange, url=s.url, clock=clock, retries=s.retries, backoff=s.backoff)


register_source("alpaca", _alpaca)
register_source("ccxt", _ccxt)
