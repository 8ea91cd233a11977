"""Behaviour specific to one client or helper (the shared behaviour is in the contract)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from pydantic import SecretStr

from bot.errors import ConfigError, FatalVenueError, OrderRejectedError
from bot.orders import OrderRequest
from bot.timeframes import to_utc
from bot.venues.base import closed_only, timeframe_delta
from bot.venues.ccxt_venue import CcxtVenue, override_origins, venue_client_id
from bot.venues.credentials import CcxtCredentials
from tests.fakes.alpaca import FakeAlpaca
from tests.fakes.bars import random_bars
from tests.fakes.binance import FakeBinance
from tests.venues.harness import BARS, POLICY, WARMUP, alpaca_harness, ccxt_harness

ROOT = Path(__file__).resolve().parents[2]
CREDS = CcxtCredentials(api_key=SecretStr("k"), secret=SecretStr("s"))


def test_sdks_are_imported_by_their_venue_adapter_only() -> None:
    pattern = re.compile(r"^\s*(import|from)\s+(alpaca|ccxt)\b", re.M)
    offenders = {
        str(p.relative_to(ROOT)): sorted({m.group(2) for m in pattern.finditer(p.read_text())})
        for p in (ROOT / "bot" / "venues").rglob("*.py")
        if pattern.search(p.read_text())
    }
    assert offenders == {
        "bot/venues/alpaca.py": ["alpaca"],
        "bot/venues/alpaca_data.py": ["alpaca"],
        "bot/venues/ccxt_venue.py": ["ccxt"],
        "bot/venues/ccxt_data.py": ["ccxt"],
    }
    # (outside bot/venues no module imports either SDK: tests/test_architecture.py)


def test_order_request_validation() -> None:
    for kwargs in [
        dict(qty=0),
        dict(side="hold"),
        dict(type="limit"),
        dict(type="stop"),
        dict(type="iceberg"),
        dict(client_order_id=""),
    ]:
        args = dict(client_order_id="c", symbol="X", side="buy", qty=1.0) | kwargs
        with pytest.raises(ValueError):
            OrderRequest(**args)
    assert OrderRequest("c", "X", "buy", 1.0, stop_loss=90.0).is_bracket


def test_bar_helpers() -> None:
    assert timeframe_delta("15m") == pd.Timedelta("15min")
    assert timeframe_delta("1d") == pd.Timedelta("1D")
    assert timeframe_delta("1w") == pd.Timedelta("7D")  # the one parser: what the data layer accepts
    for bad in ("0h", "h", "1y", "1 fortnight"):
        with pytest.raises(ConfigError, match="unknown timeframe"):
            timeframe_delta(bad)
    clock = BARS.index[3] + pd.Timedelta("30min")  # bar 3 is still open
    assert list(closed_only(BARS, "1h", clock).index) == list(BARS.index[:3])
    assert list(closed_only(BARS, "1h", clock, limit=2).index) == list(BARS.index[1:3])
    assert to_utc(1_704_067_200_000) == pd.Timestamp("2024-01-01", tz="UTC")
    assert to_utc("2024-01-01T01:00:00+01:00") == pd.Timestamp("2024-01-01", tz="UTC")


def test_url_override_and_client_ids() -> None:
    urls = {"public": "https://api.x.com/api/v3", "nested": {"a": "https://b.x.com/v1?x=1"}}
    assert override_origins(urls, "http://127.0.0.1:9/") == {
        "public": "http://127.0.0.1:9/api/v3",
        "nested": {"a": "http://127.0.0.1:9/v1?x=1"},
    }
    long_id = "run-2024-01-01T00:00:00-BTC/USDT-entry-long-" + "x" * 20
    vid = venue_client_id(long_id)
    assert vid == venue_client_id(long_id) and len(vid) <= 36 and vid != long_id
    assert venue_client_id("run1-e1") == "run1-e1"


def test_ccxt_config_errors() -> None:
    with pytest.raises(ConfigError, match="broker.ccxt.exchange"):
        CcxtVenue("nosuchexchange", CREDS, symbols=["BTC/USDT"])
    with pytest.raises(ConfigError, match="symbols"):
        CcxtVenue("binance", CREDS, symbols=[])


def test_ccxt_sandbox_with_url_override() -> None:
    venue = CcxtVenue("binance", CREDS, symbols=["BTC/USDT"], sandbox=True, api_url="http://h:1")
    assert venue._ex.urls["api"]["public"] == "http://h:1/api/v3"
    assert venue._ex.isSandboxModeEnabled


def test_ccxt_two_exit_bracket_needs_native_oco() -> None:
    venue = CcxtVenue("kraken", CREDS, symbols=["BTC/USD"], api_url="http://127.0.0.1:9")
    with pytest.raises(OrderRejectedError, match="OCO"):
        venue.submit_order(OrderRequest("c", "BTC/USD", "buy", 1.0, take_profit=2, stop_loss=1))


@pytest.fixture
def ccxt_h():
    fake = FakeBinance({"BTC/USDT": BARS}, warmup=WARMUP, balances={"USDT": 10_000.0}).start()
    yield ccxt_harness(fake)
    fake.stop()


def test_ccxt_long_client_id_round_trip(ccxt_h) -> None:
    cid = "run-2024-01-02T04:00:00+00:00|BTC/USDT|entry"
    state = ccxt_h.venue.submit_order(OrderRequest(cid, "BTC/USDT", "buy", 1.0))
    assert state.client_order_id == cid
    assert ccxt_h.fake.orders()[0].client_order_id == venue_client_id(cid)
    ccxt_h.fake.advance()
    assert ccxt_h.venue.get_order(cid).status == "filled"
    assert [f.client_order_id for f in ccxt_h.venue.fills()] == [cid]
    assert ccxt_h.make().get_order(cid).client_order_id == cid  # after a restart too


def test_ccxt_single_exit_and_exits_for_a_partly_filled_entry(ccxt_h) -> None:
    venue, fake = ccxt_h.venue, ccxt_h.fake
    fake.inject("/api/v3/order", "partial", method="POST")
    venue.submit_order(OrderRequest("e1", "BTC/USDT", "buy", 4.0, stop_loss=95.0))
    fake.advance()  # half filled
    venue.cancel_order("e1")
    [exit_order] = venue.open_orders()  # stop for the 2 * (1 - fee) received
    assert (exit_order.client_order_id, exit_order.qty) == ("e1-sl", pytest.approx(1.998))
    assert fake.orders()[-1].type == "stop"


def test_ccxt_bars_paginate_past_the_page_limit() -> None:
    bars = random_bars(2600, freq="1h", seed=3)
    with FakeBinance({"BTC/USDT": bars}, warmup=2500) as fake:
        venue = ccxt_harness(fake).venue
        got = venue.get_bars("BTC/USDT", "1h", start=bars.index[0])
        assert len(got) == 2500 and got.index[-1] == bars.index[2499]
        assert len(fake.requests("GET", "/api/v3/klines")) == 3
        assert len(venue.get_bars("BTC/USDT", "1h", limit=1500)) == 1500
        with pytest.raises(FatalVenueError, match="unknown symbol"):
            venue.get_bars("DOGE/USDT", "1h", limit=5)


def test_alpaca_crypto_positions_bars_and_oto() -> None:
    bars = {"AAPL": BARS, "BTC/USD": BARS * 400}
    with FakeAlpaca(bars, warmup=WARMUP, crypto_fee=0.0025, page_size=3) as fake:
        h = alpaca_harness(fake)
        crypto = h.venue.get_bars("BTC/USD", "1h", limit=4)
        assert list(crypto["close"]) == list(BARS["close"].iloc[1:WARMUP] * 400)
        h.venue.submit_order(OrderRequest("b1", "BTC/USD", "buy", 2.0))
        h.venue.submit_order(OrderRequest("a1", "AAPL", "buy", 3.0, take_profit=110.0))
        fake.advance()
        assert h.venue.positions() == {"BTC/USD": pytest.approx(2 * 0.9975), "AAPL": 3.0}
        [leg] = h.venue.open_orders()  # one exit: order class "oto"
        assert (leg.side, leg.qty) == ("sell", 3.0)
        assert fake.orders()[1].order_class == "oto"
        with pytest.raises(OrderRejectedError):
            h.venue.submit_order(OrderRequest("z1", "ZZZZ", "buy", 1.0))


def test_alpaca_limit_and_stop_orders() -> None:
    with FakeAlpaca({"AAPL": BARS}, warmup=WARMUP) as fake:
        venue = alpaca_harness(fake).venue
        venue.submit_order(OrderRequest("l1", "AAPL", "buy", 1.0, "limit", limit_price=98.5))
        venue.submit_order(OrderRequest("s1", "AAPL", "sell", 1.0, "stop", stop_price=95.0))
        fake.advance(4)
        assert venue.get_order("l1").avg_fill_price == 98.5  # bar 6 low 98
        assert venue.get_order("s1").avg_fill_price == 95.0  # bar 8 low 89
        assert venue.positions() == {}
        assert POLICY.attempts == 4


def test_one_alpaca_timeframe_mapping_for_live_and_historical_bars() -> None:
    from alpaca.data.timeframe import TimeFrameUnit

    from bot.venues.alpaca_data import alpaca_timeframe

    expected = {
        "1m": (1, TimeFrameUnit.Minute),
        "15m": (15, TimeFrameUnit.Minute),
        "1h": (1, TimeFrameUnit.Hour),
        "4h": (4, TimeFrameUnit.Hour),
        "1d": (1, TimeFrameUnit.Day),
        "1w": (1, TimeFrameUnit.Week),
    }
    for tf, (amount, unit) in expected.items():
        got = alpaca_timeframe(tf)
        assert (got.amount_value, got.unit_value) == (amount, unit), tf
