"""Real-internet smoke tests (skipped by default; run with ``pytest -m network``)."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.data.providers.yfinance_provider import YFinanceProvider
from bot.venues.alpaca_data import AlpacaProvider
from bot.venues.ccxt_data import CcxtProvider

pytestmark = pytest.mark.network
START, END = pd.Timestamp("2024-01-02", tz="UTC"), pd.Timestamp("2024-01-05 23:00", tz="UTC")


def _check(frame: pd.DataFrame) -> None:
    assert len(frame) > 0 and frame.index.is_monotonic_increasing and str(frame.index.tz) == "UTC"
    assert (frame["high"] >= frame["low"]).all()


def test_binance_hourly():
    _check(
        CcxtProvider("binance", options={"fetchMarkets": {"types": ["spot"]}}).get_bars("BTC/USDT", "1h", START, END)
    )


def test_alpaca_crypto_hourly():
    _check(AlpacaProvider().get_bars("BTC/USD", "1h", START, END))


def test_yfinance_daily_vix():
    pytest.importorskip("yfinance")
    _check(YFinanceProvider().get_bars("^VIX", "1d", START, END))
