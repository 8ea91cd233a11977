"""The fake Alpaca, driven through the real alpaca-py clients (raw ``requests`` where the
SDK would hide what we check, e.g. its own 3 s retry on 429)."""

from __future__ import annotations

import pandas as pd
import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.historical import CryptoHistoricalDataClient, StockHistoricalDataClient
from alpaca.data.requests import CryptoBarsRequest, StockBarsRequest
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import (
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
)

from tests.fakes.alpaca import FakeAlpaca, parse_timeframe
from tests.fakes.bars import random_bars
from tests.venues.harness import BARS, WARMUP

GTC = TimeInForce.GTC


@pytest.fixture
def fake():
    with FakeAlpaca({"AAPL": BARS, "BTC/USD": BARS * 400}, warmup=WARMUP, page_size=2) as f:
        yield f


@pytest.fixture
def tc(fake) -> TradingClient:
    return TradingClient(fake.key, fake.secret, paper=True, url_override=fake.base_url)


def market(symbol="AAPL", qty=10.0, side=OrderSide.BUY, cid="c1", **kw) -> MarketOrderRequest:
    return MarketOrderRequest(symbol=symbol, qty=qty, side=side, time_in_force=GTC, client_order_id=cid, **kw)


def raw(fake, method: str, path: str, **kw) -> requests.Response:
    headers = {"APCA-API-KEY-ID": fake.key, "APCA-API-SECRET-KEY": fake.secret}
    kw.setdefault("timeout", 2)
    return requests.request(method, fake.base_url + path, headers=headers, **kw)


def test_account_and_clock(fake, tc) -> None:
    acct = tc.get_account()
    assert (float(acct.cash), float(acct.equity), acct.currency) == (100_000.0, 100_000.0, "USD")
    clock = tc.get_clock()
    assert pd.Timestamp(clock.timestamp) == fake.clock == BARS.index[WARMUP - 1] + pd.Timedelta("1h")
    fake.advance()
    assert pd.Timestamp(tc.get_clock().timestamp) == BARS.index[WARMUP] + pd.Timedelta("1h")


def test_auth_is_checked(fake) -> None:
    for secret, status in [("wrong", 401), (None, 401)]:
        headers = {"APCA-API-KEY-ID": fake.key}
        if secret:
            headers["APCA-API-SECRET-KEY"] = secret
        resp = requests.get(fake.base_url + "/v2/account", headers=headers, timeout=2)
        assert resp.status_code == status and resp.json()["code"] == 40110000
    bad = TradingClient(fake.key, "wrong", paper=True, url_override=fake.base_url)
    with pytest.raises(APIError) as info:
        bad.get_account()
    assert info.value.status_code == 401
    data = StockHistoricalDataClient(fake.key, "wrong", url_override=fake.base_url)
    with pytest.raises(APIError) as info:
        data.get_stock_bars(StockBarsRequest(symbol_or_symbols="AAPL", timeframe=TimeFrame.Hour))
    assert info.value.status_code == 403


def test_stock_bars_paginate_and_reveal_only_closed_bars(fake) -> None:
    data = StockHistoricalDataClient(fake.key, fake.secret, url_override=fake.base_url)
    req = StockBarsRequest(symbol_or_symbols="AAPL", timeframe=TimeFrame.Hour)
    bars = data.get_stock_bars(req).data["AAPL"]  # page_size=2: three pages
    assert [pd.Timestamp(b.timestamp) for b in bars] == list(BARS.index[:WARMUP])
    assert [b.close for b in bars] == list(BARS["close"].iloc[:WARMUP])
    assert len(fake.requests("GET", "/v2/stocks/bars")) == 3
    fake.advance(3)
    windowed = StockBarsRequest(
        symbol_or_symbols="AAPL",
        timeframe=TimeFrame.Hour,
        start=BARS.index[2].to_pydatetime(),
        end=BARS.index[6].to_pydatetime(),
    )
    got = [pd.Timestamp(b.timestamp) for b in data.get_stock_bars(windowed).data["AAPL"]]
    assert got == list(BARS.index[2:7])


def test_bars_desc_limit_and_bad_timeframe(fake) -> None:
    data = StockHistoricalDataClient(fake.key, fake.secret, url_override=fake.base_url)
    req = StockBarsRequest(symbol_or_symbols="AAPL", timeframe=TimeFrame.Hour, limit=2, sort="desc")
    got = [pd.Timestamp(b.timestamp) for b in data.get_stock_bars(req).data["AAPL"]]
    assert got == [BARS.index[WARMUP - 1], BARS.index[WARMUP - 2]]
    with pytest.raises(APIError) as info:
        data.get_stock_bars(StockBarsRequest(symbol_or_symbols="AAPL", timeframe=TimeFrame.Day))
    assert info.value.status_code == 422


def test_crypto_bars(fake) -> None:
    data = CryptoHistoricalDataClient(fake.key, fake.secret, url_override=fake.base_url)
    bars = data.get_crypto_bars(CryptoBarsRequest(symbol_or_symbols="BTC/USD", timeframe=TimeFrame.Hour))
    assert [b.open for b in bars.data["BTC/USD"]] == list(BARS["open"].iloc[:WARMUP] * 400)


def test_market_order_lifecycle(fake, tc) -> None:
    order = tc.submit_order(market())
    assert (order.client_order_id, order.status.value, order.filled_qty) == ("c1", "new", "0")
    assert tc.get_order_by_id(order.id).client_order_id == "c1"
    assert tc.get_order_by_client_id("c1").id == order.id
    assert [o.id for o in tc.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))] == [order.id]
    assert tc.get_all_positions() == []
    fake.advance()
    filled = tc.get_order_by_client_id("c1")
    assert (filled.status.value, float(filled.filled_avg_price)) == ("filled", 100.0)
    assert tc.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN)) == []
    assert len(tc.get_orders(GetOrdersRequest(status=QueryOrderStatus.CLOSED))) == 1
    pos = tc.get_open_position("AAPL")
    assert (float(pos.qty), float(pos.avg_entry_price), pos.side.value) == (10.0, 100.0, "long")
    assert float(tc.get_account().cash) == 100_000.0 - 1000.0
    [act] = tc.get("/account/activities/FILL", {})
    assert (act["order_id"], act["qty"], act["price"]) == (str(order.id), "10", "100")


def test_cancel_and_errors(fake, tc) -> None:
    order = tc.submit_order(
        LimitOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=GTC,
            limit_price=50,
            client_order_id="l1",
        )
    )
    tc.cancel_order_by_id(order.id)
    assert tc.get_order_by_id(order.id).status.value == "canceled"
    for call, status in [
        (lambda: tc.cancel_order_by_id(order.id), 422),  # no longer cancelable
        (lambda: tc.get_order_by_client_id("nope"), 404),
        (lambda: tc.get_open_position("AAPL"), 404),
        (lambda: tc.submit_order(market(cid="l1")), 422),  # client ids are never reused
        (lambda: tc.submit_order(market(qty=10_000, cid="big")), 403),  # buying power
        (
            lambda: tc.submit_order(
                market(
                    "BTC/USD",
                    1,
                    cid="br",
                    order_class=OrderClass.BRACKET,
                    take_profit=TakeProfitRequest(limit_price=9e9),
                    stop_loss=StopLossRequest(stop_price=1),
                )
            ),
            422,
        ),
    ]:
        with pytest.raises(APIError) as info:
            call()
        assert info.value.status_code == status


def test_bracket_legs_held_then_active_then_oco(fake, tc) -> None:
    tc.submit_order(
        market(
            order_class=OrderClass.BRACKET,
            take_profit=TakeProfitRequest(limit_price=110),
            stop_loss=StopLossRequest(stop_price=95),
        )
    )
    parent = tc.get_order_by_client_id("c1")
    assert sorted(leg.status.value for leg in parent.legs) == ["held", "held"]
    fake.advance()  # parent fills at 100; legs active from the next bar
    legs = tc.get_order_by_client_id("c1").legs
    assert sorted((leg.type.value, leg.status.value) for leg in legs) == [
        ("limit", "new"),
        ("stop", "new"),
    ]
    fake.advance(2)  # bar 7 reaches 112: take-profit at 110, stop leg cancelled
    legs = {leg.type.value: leg for leg in tc.get_order_by_client_id("c1").legs}
    assert (legs["limit"].status.value, float(legs["limit"].filled_avg_price)) == ("filled", 110.0)
    assert legs["stop"].status.value == "canceled"
    assert tc.get_all_positions() == []
    assert float(tc.get_account().cash) == pytest.approx(100_000.0 + 100.0)


def test_stop_gap_fills_at_open_and_shorts_allowed(fake, tc) -> None:
    tc.submit_order(
        StopOrderRequest(
            symbol="AAPL",
            qty=5,
            side=OrderSide.SELL,
            time_in_force=GTC,
            stop_price=99.5,
            client_order_id="s1",
        )
    )
    fake.advance(4)  # bar 8 opens at 111, trades down to 89: stop at 99.5
    order = tc.get_order_by_client_id("s1")
    assert (order.status.value, float(order.filled_avg_price)) == ("filled", 99.5)
    pos = tc.get_open_position("AAPL")
    assert (float(pos.qty), pos.side.value) == (-5.0, "short")


def test_crypto_fee_taken_from_the_asset_received(fake, tc) -> None:
    tc.submit_order(market("BTC/USD", 1.0))
    fake.advance()
    [pos] = tc.get_all_positions()
    assert (pos.symbol, float(pos.qty)) == ("BTCUSD", pytest.approx(1.0 * (1 - 0.0025)))
    with pytest.raises(APIError) as info:  # crypto cannot be sold short
        tc.submit_order(market("BTC/USD", 2.0, OrderSide.SELL, cid="s2"))
    assert info.value.status_code == 403


def test_faults_429_500_reject(fake, tc) -> None:
    fake.inject("/v2/account", "http_429", retry_after=7)
    resp = raw(fake, "GET", "/v2/account")
    assert (resp.status_code, resp.headers["Retry-After"]) == (429, "7")
    fake.inject("/v2/account", "http_500")
    with pytest.raises(APIError) as info:
        tc.get_account()
    assert info.value.status_code == 500
    fake.inject("/v2/orders", "reject", method="POST")
    with pytest.raises(APIError) as info:
        tc.submit_order(market())
    assert (info.value.status_code, info.value.code) == (403, 40310000)
    assert fake.orders() == []
    assert tc.get_account().cash == "100000"  # faults are one-shot


def test_fault_drop_and_timeout(fake, tc) -> None:
    fake.inject("/v2/orders", "drop", method="POST")
    with pytest.raises(requests.ConnectionError):
        tc.submit_order(market())
    assert fake.orders() == []  # dropped before processing
    fake.inject("/v2/orders", "timeout", method="POST", delay=0.6)
    with pytest.raises(requests.ReadTimeout):
        raw(fake, "POST", "/v2/orders", json=market().to_request_fields(), timeout=0.2)
    assert fake.orders() == []  # not yet: processed after the delay
    fake.wait_idle()
    assert [o.client_order_id for o in fake.orders()] == ["c1"]


def test_partial_fill_fault(fake, tc) -> None:
    fake.inject("/v2/orders", "partial", method="POST")
    tc.submit_order(market())
    fake.advance()
    order = tc.get_order_by_client_id("c1")
    assert (order.status.value, order.filled_qty) == ("partially_filled", "5")
    fake.advance()
    assert tc.get_order_by_client_id("c1").status.value == "filled"
    assert [a["type"] for a in tc.get("/account/activities/FILL", {})] == ["partial_fill", "fill"]


def test_unknown_fault_kind_and_timeframes() -> None:
    with FakeAlpaca({"AAPL": random_bars(10)}, warmup=2) as fake:
        with pytest.raises(ValueError):
            fake.inject("/v2", "explode")
        with pytest.raises(IndexError):
            fake.advance(9)
    assert parse_timeframe("15Min") == pd.Timedelta("15min")
    assert parse_timeframe("1Day") == pd.Timedelta("1D")


def limit_buy(cid="l1", price=50) -> LimitOrderRequest:
    return LimitOrderRequest(
        symbol="AAPL",
        qty=1,
        side=OrderSide.BUY,
        time_in_force=GTC,
        limit_price=price,
        client_order_id=cid,
    )


def test_delayed_cancel_is_pending_cancel_for_n_bars() -> None:
    with FakeAlpaca({"AAPL": BARS}, warmup=WARMUP, cancel_delay=2) as fake:
        tc = TradingClient(fake.key, fake.secret, paper=True, url_override=fake.base_url)
        order = tc.submit_order(limit_buy())
        tc.cancel_order_by_id(order.id)  # 204
        assert tc.get_order_by_id(order.id).status.value == "pending_cancel"
        tc.cancel_order_by_id(order.id)  # again: 204, nothing changes
        open_ids = [o.id for o in tc.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))]
        assert open_ids == [order.id]
        fake.advance()
        assert tc.get_order_by_id(order.id).status.value == "pending_cancel"
        fake.advance()
        assert tc.get_order_by_id(order.id).status.value == "canceled"


def test_pending_cancel_bracket_legs_hold_shares_and_may_still_fill() -> None:
    with FakeAlpaca({"AAPL": BARS}, warmup=WARMUP, cancel_delay=2, check_qty_available=True) as fake:
        tc = TradingClient(fake.key, fake.secret, paper=True, url_override=fake.base_url)
        tc.submit_order(
            market(
                order_class=OrderClass.BRACKET,
                take_profit=TakeProfitRequest(limit_price=110),
                stop_loss=StopLossRequest(stop_price=95),
            )
        )
        fake.advance()  # parent fills at 100; the exit legs hold the 10 shares
        legs = {leg.type.value: leg for leg in tc.get_order_by_client_id("c1").legs}
        assert tc.get_open_position("AAPL").qty_available == "0"
        tc.cancel_order_by_id(legs["limit"].id)
        legs = {leg.type.value: leg for leg in tc.get_order_by_client_id("c1").legs}
        assert {leg.status.value for leg in legs.values()} == {"pending_cancel"}
        with pytest.raises(APIError) as info:  # the shares are still held
            tc.submit_order(market(side=OrderSide.SELL, cid="close"))
        assert (info.value.status_code, info.value.code) == (403, 40310000)
        assert info.value.message == ("insufficient qty available for order (requested: 10, available: 0)")
        fake.advance(2)  # bar 7 reaches 112 before the cancel is final: the take-profit fills
        legs = {leg.type.value: leg for leg in tc.get_order_by_client_id("c1").legs}
        assert (legs["limit"].status.value, float(legs["limit"].filled_avg_price)) == (
            "filled",
            110.0,
        )
        assert legs["stop"].status.value == "canceled"
        assert tc.get_all_positions() == []


def test_qty_available_check_refuses_a_sell_beyond_the_long_position() -> None:
    with FakeAlpaca({"AAPL": BARS}, warmup=WARMUP, check_qty_available=True) as fake:
        tc = TradingClient(fake.key, fake.secret, paper=True, url_override=fake.base_url)
        tc.submit_order(market())
        fake.advance()
        with pytest.raises(APIError) as info:
            tc.submit_order(market(qty=15, side=OrderSide.SELL, cid="flip"))
        assert "(requested: 15, available: 10)" in info.value.message
        tc.submit_order(market(qty=10, side=OrderSide.SELL, cid="close"))
        with pytest.raises(APIError):  # the open close order holds all 10
            tc.submit_order(market(qty=5, side=OrderSide.SELL, cid="more"))
        fake.advance()
        tc.submit_order(market(qty=5, side=OrderSide.SELL, cid="short"))  # no long left: short


def test_split_fill_fault_gives_two_fill_activities(fake, tc) -> None:
    fake.inject("/v2/orders", "split", method="POST")
    tc.submit_order(market())
    fake.advance()
    acts = tc.get("/account/activities/FILL", {})
    assert [(a["type"], a["qty"], a["price"]) for a in acts] == [
        ("partial_fill", "5", "100"),
        ("fill", "5", "100.1"),
    ]
    assert float(tc.get_order_by_client_id("c1").filled_avg_price) == pytest.approx(100.05)


def test_outage_fault(fake, tc) -> None:
    fake.outage("/v2/orders")
    with pytest.raises(APIError) as info:
        tc.submit_order(market())
    assert info.value.status_code == 503
    assert tc.get_account().status.value == "ACTIVE"  # other paths still answer
    assert fake.orders() == []
    fake.lift("outage", "/v2/orders")
    tc.submit_order(market())
    assert len(fake.orders()) == 1
