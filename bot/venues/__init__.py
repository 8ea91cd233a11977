"""Venue clients: one small protocol (:class:`VenueClient`), SDKs kept behind it.

Only this package imports the SDKs: alpaca-py in :mod:`bot.venues.alpaca` (trading) and
:mod:`bot.venues.alpaca_data` (the data layer's historical bars), ccxt in
:mod:`bot.venues.ccxt_venue` and :mod:`bot.venues.ccxt_data`; ``tests/test_architecture.py``
checks it. Import those modules directly (they are not imported here, so using one venue does
not load the other's SDK). Importing the package registers the alpaca and ccxt bar sources
with ``bot.data`` (:mod:`bot.venues.sources`).
"""

from bot.orders import OrderRequest
from bot.venues import sources  # noqa: F401  (registers the alpaca and ccxt bar sources)
from bot.venues.base import VenueClient, closed_only, timeframe_delta
from bot.venues.credentials import (
    AlpacaCredentials,
    CcxtCredentials,
    alpaca_credentials,
    ccxt_credentials,
)
from bot.venues.retry import RetryPolicy, call_with_retry, submit_idempotently
from bot.venues.types import Account, Fill, OrderState

__all__ = [
    "Account",
    "AlpacaCredentials",
    "CcxtCredentials",
    "Fill",
    "OrderRequest",
    "OrderState",
    "RetryPolicy",
    "VenueClient",
    "alpaca_credentials",
    "call_with_retry",
    "ccxt_credentials",
    "closed_only",
    "submit_idempotently",
    "timeframe_delta",
]
