"""Read-only checks against the real Alpaca paper API and the Binance spot testnet.

Marked ``network`` (deselected by default; run with ``-m network``) and skipped unless the
keys are in the environment. They place no orders.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

pytestmark = pytest.mark.network


def _need(*names: str) -> None:
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.skip(f"set {', '.join(missing)} to run against the real venue")


def _check(venue, symbol: str) -> None:
    clock = venue.clock()
    bars = venue.get_bars(symbol, "1d", limit=5)
    assert 0 < len(bars) <= 5
    assert (bars.index + pd.Timedelta("1D") <= clock).all()
    assert venue.account().equity >= 0
    assert isinstance(venue.positions(), dict)
    assert isinstance(venue.open_orders(), list)
    assert venue.get_order("market-predictor-never-sent") is None


def test_alpaca_paper_read_only() -> None:
    _need("ALPACA_API_KEY", "ALPACA_SECRET_KEY")
    from bot.venues.alpaca import AlpacaVenue
    from bot.venues.credentials import alpaca_credentials

    _check(AlpacaVenue(alpaca_credentials(), paper=True, feed="iex"), "AAPL")


def test_binance_testnet_read_only() -> None:
    _need("CCXT_API_KEY", "CCXT_SECRET")
    from bot.venues.ccxt_venue import CcxtVenue
    from bot.venues.credentials import ccxt_credentials

    _check(CcxtVenue("binance", ccxt_credentials(), symbols=["BTC/USDT"], sandbox=True), "BTC/USDT")
