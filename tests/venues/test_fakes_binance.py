"""The fake Binance spot API, driven through the real ``ccxt.binance`` client (its API URLs
overridden to the fake; raw ``requests`` for what ccxt would not send)."""

from __future__ import annotations

from urllib.parse import urlencode

import ccxt
import pandas as pd
import pytest
import requests

from tests.fakes.bars import load_bars, random_bars
from tests.fakes.binance import FakeBinance, parse_interval, sign
from tests.venues.harness import BARS, WARMUP

OPTIONS = {
    "defaultType": "spot",
    "fetchCurrencies": False,
    "fetchMargins": False,
    "fetchMarkets": {"types": ["spot"]},
    "warnOnFetchOpenOrdersWithoutSymbol": False,
}


def client(fake: FakeBinance, secret: str | None = None, key: str | None = None, timeout=2000):
    ex = ccxt.binance(
        {
            "apiKey": key or fake.key,
            "secret": secret or fake.secret,
            "timeout": timeout,
            "enableRateLimit": False,
            "options": dict(OPTIONS),
        }
    )
    ex.urls["api"] = {k: fake.base_url + v.split(".com", 1)[1] for k, v in ex.urls["api"].items()}
    return ex


@pytest.fixture
def fake():
    funds = {"USDT": 10_000.0, "ETH": 2.0}
    bars = {"BTC/USDT": BARS, "ETH/USDT": BARS / 10}
    with FakeBinance(bars, warmup=WARMUP, balances=funds, min_notional=1.0) as f:  # small test orders
        yield f


@pytest.fixture
def ex(fake):
    return client(fake)


def ms(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000_000)


def test_public_endpoints(fake, ex) -> None:
    assert ex.publicGetPing() == {}
    assert ex.fetch_time() == ms(fake.clock)
    markets = ex.load_markets()
    assert sorted(markets) == ["BTC/USDT", "ETH/USDT"]
    btc = markets["BTC/USDT"]
    assert (btc["id"], btc["precision"]["amount"], btc["limits"]["amount"]["min"]) == (
        "BTCUSDT",
        1e-05,
        1e-05,
    )
    assert ex.fetch_ticker("BTC/USDT")["last"] == BARS["close"].iloc[WARMUP - 1]


def test_klines_serve_only_closed_bars(fake, ex) -> None:
    rows = ex.fetch_ohlcv("BTC/USDT", "1h", limit=3)
    assert [r[0] for r in rows] == [ms(t) for t in BARS.index[WARMUP - 3 : WARMUP]]
    assert [r[4] for r in rows] == list(BARS["close"].iloc[WARMUP - 3 : WARMUP])
    assert len(ex.fetch_ohlcv("BTC/USDT", "1h", since=0, limit=100)) == WARMUP
    fake.advance(4)
    rows = ex.fetch_ohlcv("BTC/USDT", "1h", since=ms(BARS.index[2]), limit=3)
    assert [r[0] for r in rows] == [ms(t) for t in BARS.index[2:5]]
    rows = ex.fetch_ohlcv("BTC/USDT", "1h", params={"endTime": ms(BARS.index[4])}, limit=2)
    assert [r[0] for r in rows] == [ms(BARS.index[3]), ms(BARS.index[4])]
    assert len(ex.fetch_ohlcv("BTC/USDT", "1h", limit=1000)) == WARMUP + 4
    with pytest.raises(ccxt.ExchangeError):
        ex.fetch_ohlcv("BTC/USDT", "1d")


def test_klines_from_real_data(shared_data) -> None:
    bars = load_bars("crypto/1h/BTC_USDT.csv", rows=300)
    with FakeBinance({"BTC/USDT": bars}, warmup=250) as fake:
        rows = client(fake).fetch_ohlcv("BTC/USDT", "1h", limit=1000)
    assert len(rows) == 250
    assert [r[1:5] for r in rows] == bars.iloc[:250, :4].values.tolist()


def test_balance_order_and_fill_with_fee_in_base(fake, ex) -> None:
    order = ex.create_order("BTC/USDT", "market", "buy", 10, None, {"clientOrderId": "c1"})
    assert (order["status"], order["clientOrderId"], order["filled"]) == ("open", "c1", 0.0)
    assert fake.orders()[0].client_order_id == "c1"
    fake.advance()
    got = ex.fetch_order(None, "BTC/USDT", {"clientOrderId": "c1"})
    assert (got["status"], got["average"], got["id"]) == ("closed", 100.0, order["id"])
    assert ex.fetch_order(order["id"], "BTC/USDT")["clientOrderId"] == "c1"
    balance = ex.fetch_balance()
    assert balance["BTC"]["total"] == pytest.approx(9.99)  # 0.1 % fee taken in BTC
    assert balance["USDT"]["total"] == pytest.approx(9000.0)
    [trade] = ex.fetch_my_trades("BTC/USDT")
    assert (trade["order"], trade["price"], trade["fee"]) == (
        order["id"],
        100.0,
        {"currency": "BTC", "cost": pytest.approx(0.01)},
    )
    ex.create_order("BTC/USDT", "market", "sell", 5, None, {"clientOrderId": "s1"})
    fake.advance()
    sell = [t for t in ex.fetch_my_trades("BTC/USDT") if t["side"] == "sell"][0]
    assert sell["fee"] == {"currency": "USDT", "cost": pytest.approx(5 * 100 * 0.001)}
    assert len(ex.fetch_orders("BTC/USDT")) == 2


def test_open_orders_lock_balance_and_cancel(fake, ex) -> None:
    ex.create_order("ETH/USDT", "limit", "sell", 1.5, 50, {"clientOrderId": "l1"})
    ex.create_order("ETH/USDT", "market", "sell", 0.3, None, {"clientOrderId": "t1", "triggerPrice": 5})
    assert fake.orders()[1].type == "stop"  # ccxt sent a STOP_LOSS order
    assert ex.fetch_balance()["ETH"] == {"free": pytest.approx(0.2), "used": 1.8, "total": 2.0}
    assert sorted(o["clientOrderId"] for o in ex.fetch_open_orders()) == ["l1", "t1"]
    assert ex.fetch_open_orders("BTC/USDT") == []
    with pytest.raises(ccxt.InsufficientFunds):  # only 0.2 ETH left free
        ex.create_order("ETH/USDT", "market", "sell", 1, None, {"clientOrderId": "x"})
    assert ex.cancel_order(None, "ETH/USDT", {"clientOrderId": "l1"})["status"] == "canceled"
    assert ex.fetch_balance()["ETH"]["free"] == pytest.approx(1.7)
    with pytest.raises(ccxt.OrderNotFound):
        ex.cancel_order(None, "ETH/USDT", {"clientOrderId": "l1"})
    with pytest.raises(ccxt.OrderNotFound):
        ex.fetch_order(None, "ETH/USDT", {"clientOrderId": "never"})


def test_duplicate_client_id_is_refused_only_while_open(fake, ex) -> None:
    ex.create_order("BTC/USDT", "market", "buy", 1, None, {"clientOrderId": "d1"})
    with pytest.raises(ccxt.InvalidOrder):
        ex.create_order("BTC/USDT", "market", "buy", 1, None, {"clientOrderId": "d1"})
    fake.advance()  # filled: Binance accepts the id again (ids are unique among open orders)
    ex.create_order("BTC/USDT", "market", "buy", 1, None, {"clientOrderId": "d1"})
    assert [o.client_order_id for o in fake.orders()] == ["d1", "d1"]


def test_oco_one_leg_fills_the_other_expires(fake, ex) -> None:
    ex.create_order("BTC/USDT", "market", "buy", 10, None, {"clientOrderId": "e1"})
    fake.advance()
    resp = ex.privatePostOrderListOco(
        {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "quantity": "9.99",
            "aboveType": "LIMIT_MAKER",
            "abovePrice": "110",
            "aboveClientOrderId": "tp",
            "belowType": "STOP_LOSS",
            "belowStopPrice": "95",
            "belowClientOrderId": "sl",
            "listClientOrderId": "L1",
        }
    )
    assert [o["clientOrderId"] for o in resp["orders"]] == ["tp", "sl"]
    assert ex.fetch_balance()["BTC"]["used"] == pytest.approx(9.99)  # one list locks once
    fake.advance(2)  # bar 7 reaches 112
    tp = ex.fetch_order(None, "BTC/USDT", {"clientOrderId": "tp"})
    sl = ex.fetch_order(None, "BTC/USDT", {"clientOrderId": "sl"})
    assert (tp["status"], tp["average"], sl["status"]) == ("closed", 110.0, "expired")  # Binance: the other leg EXPIRES
    assert ex.fetch_balance()["BTC"]["total"] == pytest.approx(0.0)


def test_signature_and_key_checks(fake) -> None:
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        client(fake, secret="not-the-secret").fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        client(fake, key="not-the-key").fetch_balance()
    url, headers = fake.base_url + "/api/v3/account", {"X-MBX-APIKEY": fake.key}
    query = urlencode({"recvWindow": 5000})
    resp = requests.get(f"{url}?{query}&signature={sign(fake.secret, query)}", headers=headers)
    assert (resp.status_code, resp.json()["code"]) == (400, -1102)  # no timestamp
    query = urlencode({"timestamp": 1})
    resp = requests.get(f"{url}?{query}", headers=headers)
    assert (resp.status_code, resp.json()["code"]) == (401, -1022)  # no signature


def test_lot_size_is_enforced(fake) -> None:
    body = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "MARKET",
        "quantity": "0.000015",
        "timestamp": 1,
    }
    payload = urlencode(body)
    resp = requests.post(
        fake.base_url + "/api/v3/order",
        data=f"{payload}&signature={sign(fake.secret, payload)}",
        headers={"X-MBX-APIKEY": fake.key, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (resp.status_code, resp.json()["code"]) == (400, -1013)


def test_faults(fake, ex) -> None:
    fake.inject("/api/v3/account", "http_429", retry_after=4)
    with pytest.raises(ccxt.DDoSProtection):
        ex.fetch_balance()
    assert ex.last_response_headers["Retry-After"] == "4"
    fake.inject("/api/v3/account", "http_500")
    with pytest.raises(ccxt.OperationFailed):
        ex.fetch_balance()
    fake.inject("/api/v3/order", "drop", method="POST")
    with pytest.raises(ccxt.NetworkError):
        ex.create_order("BTC/USDT", "market", "buy", 1, None, {"clientOrderId": "c1"})
    assert fake.orders() == []
    fake.inject("/api/v3/order", "reject", method="POST")
    with pytest.raises(ccxt.InsufficientFunds):
        ex.create_order("BTC/USDT", "market", "buy", 1, None, {"clientOrderId": "c1"})
    fake.inject("/api/v3/order", "timeout", method="POST", delay=0.6, when="before")
    with pytest.raises(ccxt.RequestTimeout):
        client(fake, timeout=200).create_order("BTC/USDT", "market", "buy", 1, None, {"clientOrderId": "c1"})
    assert [o.client_order_id for o in fake.orders()] == ["c1"]  # in, although the answer was lost
    fake.wait_idle()


def test_partial_fill(fake, ex) -> None:
    fake.inject("/api/v3/order", "partial", method="POST")
    ex.create_order("BTC/USDT", "market", "buy", 2, None, {"clientOrderId": "p1"})
    fake.advance()
    order = ex.fetch_order(None, "BTC/USDT", {"clientOrderId": "p1"})
    assert (order["status"], order["filled"], order["info"]["status"]) == (
        "open",
        1.0,
        "PARTIALLY_FILLED",
    )
    fake.advance()
    assert ex.fetch_order(None, "BTC/USDT", {"clientOrderId": "p1"})["status"] == "closed"
    assert len(ex.fetch_my_trades("BTC/USDT")) == 2


def test_intervals() -> None:
    assert parse_interval("4h") == pd.Timedelta("4h")
    with pytest.raises(ValueError):
        parse_interval("1x")
    with pytest.raises(ValueError):  # warmup beyond the data
        FakeBinance({"BTC/USDT": random_bars(3)}, warmup=4)


def test_lookup_lag_answers_2013_for_a_new_order_then_finds_it() -> None:
    with FakeBinance({"BTC/USDT": BARS}, warmup=WARMUP, lookup_lag=2) as fake:
        ex = client(fake)
        order = ex.create_order("BTC/USDT", "market", "buy", 1, None, {"clientOrderId": "g1"})
        with pytest.raises(ccxt.OrderNotFound, match="-2013"):
            ex.fetch_order(None, "BTC/USDT", {"clientOrderId": "g1"})
        with pytest.raises(ccxt.OrderNotFound):  # by id too: the count is per order
            ex.fetch_order(order["id"], "BTC/USDT")
        assert ex.fetch_order(order["id"], "BTC/USDT")["clientOrderId"] == "g1"
        # not lagged: open orders and (after the fill) trades
        assert [o["clientOrderId"] for o in ex.fetch_open_orders("BTC/USDT")] == ["g1"]
        fake.lookup_lag = 1  # set per test at run time: applies to orders accepted from now on
        ex.create_order("BTC/USDT", "market", "buy", 1, None, {"clientOrderId": "g2"})
        fake.advance()
        assert len(ex.fetch_my_trades("BTC/USDT")) == 2
        with pytest.raises(ccxt.OrderNotFound):
            ex.fetch_order(None, "BTC/USDT", {"clientOrderId": "g2"})
        assert ex.fetch_order(None, "BTC/USDT", {"clientOrderId": "g2"})["status"] == "closed"


def test_filled_market_order_client_id_can_be_reused(fake, ex) -> None:
    first = ex.create_order("BTC/USDT", "market", "buy", 1, None, {"clientOrderId": "r1"})
    fake.advance()
    second = ex.create_order("BTC/USDT", "market", "buy", 1, None, {"clientOrderId": "r1"})
    assert second["id"] != first["id"] and len(fake.orders()) == 2
    assert ex.fetch_order(None, "BTC/USDT", {"clientOrderId": "r1"})["id"] == second["id"]
    assert ex.fetch_order(first["id"], "BTC/USDT")["status"] == "closed"
    ex.cancel_order(second["id"], "BTC/USDT")  # a cancelled id is free again too
    ex.create_order("BTC/USDT", "market", "buy", 1, None, {"clientOrderId": "r1"})
    assert [o.client_order_id for o in fake.orders()] == ["r1", "r1", "r1"]


def oco_sell(ex, qty: str, take_profit: str = "110") -> dict:
    return ex.privatePostOrderListOco(
        {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "quantity": qty,
            "aboveType": "LIMIT_MAKER",
            "abovePrice": take_profit,
            "aboveClientOrderId": "tp",
            "belowType": "STOP_LOSS",
            "belowStopPrice": "95",
            "belowClientOrderId": "sl",
        }
    )


@pytest.mark.parametrize(
    ("take_profit", "filled", "expired", "prices"),
    [
        ("110", "tp", "sl", [110.0, 111.0]),  # bar 7 reaches 112; the rest at bar 8's open
        ("120", "sl", "tp", [95.0, 90.0]),  # bar 8 falls to 89; the rest at bar 9's open
    ],
)
def test_oco_partial_leg_fill_expires_the_other_leg(take_profit, filled, expired, prices) -> None:
    with FakeBinance({"BTC/USDT": BARS}, warmup=WARMUP, oco_expire=True) as fake:
        ex = client(fake)
        ex.create_order("BTC/USDT", "market", "buy", 10, None, {"clientOrderId": "e1"})
        fake.advance()
        fake.inject("/api/v3/orderList", "partial", method="POST")  # reaches both legs
        oco_sell(ex, "9.99", take_profit)
        fake.advance(3 if filled == "sl" else 2)
        hit = ex.fetch_order(None, "BTC/USDT", {"clientOrderId": filled})
        other = ex.fetch_order(None, "BTC/USDT", {"clientOrderId": expired})
        assert (hit["info"]["status"], hit["filled"], other["info"]["status"]) == (
            "PARTIALLY_FILLED",
            4.995,
            "EXPIRED",
        )
        assert other["status"] == "expired"
        assert ex.fetch_balance()["BTC"]["used"] == pytest.approx(4.995)
        fake.advance()
        hit = ex.fetch_order(None, "BTC/USDT", {"clientOrderId": filled})
        assert (hit["status"], hit["filled"]) == ("closed", 9.99)
        assert [t["price"] for t in ex.fetch_my_trades("BTC/USDT")][1:] == prices


def test_split_fill_two_trades_in_one_poll(fake, ex) -> None:
    fake.inject("/api/v3/order", "split", method="POST")
    ex.create_order("BTC/USDT", "market", "buy", 2, None, {"clientOrderId": "s1"})
    fake.advance()
    trades = ex.fetch_my_trades("BTC/USDT")
    assert [(t["amount"], t["price"], t["fee"]["cost"]) for t in trades] == [
        (1.0, 100.0, pytest.approx(0.001)),
        (1.0, pytest.approx(100.1), pytest.approx(0.001)),
    ]
    order = ex.fetch_order(None, "BTC/USDT", {"clientOrderId": "s1"})
    assert (order["status"], order["average"]) == ("closed", pytest.approx(100.05))


def test_fees_in_bnb_then_in_the_received_asset() -> None:
    funds = {"USDT": 10_000.0, "BNB": 0.002}
    with FakeBinance(
        {"BTC/USDT": BARS},
        warmup=WARMUP,
        balances=funds,
        fee_asset="BNB",
        prices={"BNB/USDT": 600.0},
    ) as fake:
        ex = client(fake)
        assert sorted(ex.load_markets()) == ["BNB/USDT", "BTC/USDT"]
        assert ex.fetch_ticker("BNB/USDT")["last"] == 600.0
        assert ex.publicGetTickerPrice({"symbol": "BNBUSDT"})["price"] == "600.00000000"
        for cid in ("b1", "b2"):
            ex.create_order("BTC/USDT", "market", "buy", 10, None, {"clientOrderId": cid})
            fake.advance()
        fees = [t["fee"] for t in ex.fetch_my_trades("BTC/USDT")]
        assert fees == [
            {"currency": "BNB", "cost": pytest.approx(1.0 / 600, abs=1e-8)},  # 0.1 % of 1000 USDT
            {"currency": "BTC", "cost": pytest.approx(0.01)},  # BNB ran out: fallback
        ]
        balance = ex.fetch_balance()
        assert balance["BTC"]["total"] == pytest.approx(10.0 + 9.99)  # full qty with BNB fees
        assert balance["BNB"]["total"] == pytest.approx(0.002 - 1.0 / 600, abs=1e-8)


def test_outage_answers_503_until_lifted(fake, ex) -> None:
    fake.outage()
    resp = requests.get(fake.base_url + "/api/v3/ping", timeout=2)
    assert (resp.status_code, resp.json()["code"]) == (503, -1001)
    with pytest.raises(ccxt.OperationFailed):  # transient in ccxt's hierarchy
        ex.fetch_balance()
    assert fake.lift() == 1
    assert ex.publicGetPing() == {}
    fake.inject("/api/v3/order", "outage", times=2, method="POST")
    for _ in range(2):
        with pytest.raises(ccxt.OperationFailed):
            ex.create_order("BTC/USDT", "market", "buy", 1, None, {"clientOrderId": "o1"})
    assert fake.orders() == []  # not processed
    ex.create_order("BTC/USDT", "market", "buy", 1, None, {"clientOrderId": "o1"})
    assert len(fake.orders()) == 1
