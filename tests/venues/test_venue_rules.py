"""Venue trading rules: the strict fakes refuse what Alpaca / Binance refuse, the adapters round
and size orders so the venue accepts them, and refuse locally what no rounding can save."""

from __future__ import annotations

import ccxt
import pytest
import requests
from pydantic import SecretStr

from bot.errors import ConfigError, OrderRejectedError
from bot.orders import OrderRequest
from bot.venues.alpaca import AlpacaVenue
from bot.venues.ccxt_venue import CcxtVenue
from bot.venues.credentials import AlpacaCredentials, CcxtCredentials
from bot.venues.increments import backtest_price, floor_size, is_on_tick, round_price
from tests.fakes.alpaca import FakeAlpaca
from tests.fakes.binance import FakeBinance
from tests.venues.harness import BARS, POLICY, TIMEOUT, WARMUP

TP = 111.705003357  # the take-profit Alpaca refused in issue 11


# ---- pure rules ----------------------------------------------------------------------------
def test_rounding_rules() -> None:
    assert round_price(TP, 0.01) == 111.71 and round_price(TP, 0.1) == 111.7
    assert round_price(0.123456, 0.0001) == 0.1235 and round_price(3012.345, 0.01) == 3012.35
    assert round_price(1.5, None) == 1.5
    assert floor_size(3.99, 1.0) == 3.0 and floor_size(0.123456789, 0.001) == 0.123
    assert backtest_price("AAPL", TP, "auto") == 111.71
    assert backtest_price("PENNY", 0.123456, "auto") == 0.1235
    assert backtest_price("BTC/USDT", TP, "auto") == TP  # the crypto tick is per market
    assert backtest_price("BTC/USDT", TP, 0.1) == 111.7 and backtest_price("AAPL", TP, None) == TP
    assert is_on_tick(111.71, 0.01) and not is_on_tick(TP, 0.01)


# ---- Alpaca --------------------------------------------------------------------------------
def alpaca(fake: FakeAlpaca) -> AlpacaVenue:
    creds = AlpacaCredentials(key_id=SecretStr(fake.key), secret_key=SecretStr(fake.secret))
    return AlpacaVenue(
        creds, trading_url=fake.base_url, data_url=fake.base_url, timeout=TIMEOUT, retry=POLICY, sleep=lambda s: None
    )


def post(fake: FakeAlpaca, body: dict) -> requests.Response:
    headers = {"APCA-API-KEY-ID": fake.key, "APCA-API-SECRET-KEY": fake.secret}
    return requests.post(fake.base_url + "/v2/orders", json=body, headers=headers, timeout=TIMEOUT)


@pytest.fixture
def fa():
    assets = {"BRK.A": {"fractionable": False}, "HALT": {"tradable": False}}
    bars = {"AAPL": BARS, "PENNY": BARS / 200, "BRK.A": BARS, "HALT": BARS, "BTC/USD": BARS}
    with FakeAlpaca(bars, timeframe="1Hour", warmup=WARMUP, assets=assets) as fake:
        yield fake


@pytest.mark.parametrize("field", ["limit_price", "stop_price", "take_profit", "stop_loss"])
def test_fake_alpaca_refuses_sub_penny_prices(fa, field) -> None:
    body = dict(symbol="AAPL", qty="1", side="buy", type="market", time_in_force="gtc")
    name = field
    if field == "limit_price":
        body.update(type="limit", limit_price=TP)
    elif field == "stop_price":
        body.update(type="stop", stop_price=TP)
    elif field == "take_profit":
        body.update(order_class="bracket", take_profit={"limit_price": TP}, stop_loss={"stop_price": 95})
        name = "take_profit.limit_price"
    else:
        body.update(order_class="bracket", take_profit={"limit_price": 120}, stop_loss={"stop_price": TP})
        name = "stop_loss.stop_price"
    r = post(fa, body)
    assert r.status_code == 422
    assert r.json() == {
        "code": 42210000,
        "message": f"invalid {name} {TP}. sub-penny increment does not fulfill minimum pricing criteria",
    }
    assert fa.orders() == []


def test_fake_alpaca_asset_and_size_rules(fa) -> None:
    headers = {"APCA-API-KEY-ID": fa.key, "APCA-API-SECRET-KEY": fa.secret}
    got = requests.get(fa.base_url + "/v2/assets/BRK.A", headers=headers, timeout=TIMEOUT).json()
    assert {k: got[k] for k in ("tradable", "fractionable", "shortable", "easy_to_borrow")} == dict(
        tradable=True, fractionable=False, shortable=True, easy_to_borrow=True
    )
    crypto = requests.get(fa.base_url + "/v2/assets/BTCUSD", headers=headers, timeout=TIMEOUT).json()
    assert (crypto["class"], crypto["min_order_size"], crypto["price_increment"]) == ("crypto", "0.0001", "0.01")
    missing = requests.get(fa.base_url + "/v2/assets/NOPE", headers=headers, timeout=TIMEOUT)
    assert missing.status_code == 404
    order = dict(side="buy", type="market", time_in_force="day")
    r = post(fa, dict(order, symbol="BRK.A", qty="1.5"))
    assert (r.status_code, r.json()["message"]) == (422, "requested asset is not fractionable")
    r = post(fa, dict(order, symbol="AAPL", qty="1.5", time_in_force="gtc"))
    assert (r.status_code, r.json()["message"]) == (422, "fractional orders must be DAY orders")
    penny = dict(order, symbol="PENNY", type="limit", qty="1")
    assert post(fa, dict(penny, limit_price=0.12345)).status_code == 422  # 4 decimals below $1
    assert post(fa, dict(penny, limit_price=0.1235)).status_code == 200
    assert post(fa, dict(order, symbol="AAPL", qty="1.5")).status_code == 200


def test_alpaca_rounds_every_price_to_the_assets_grid(fa) -> None:
    venue = alpaca(fa)
    venue.submit_order(OrderRequest("b1", "AAPL", "buy", 2.0, take_profit=TP, stop_loss=95.004999))
    venue.submit_order(OrderRequest("l1", "PENNY", "buy", 10.0, type="limit", limit_price=0.123456))
    venue.submit_order(OrderRequest("s1", "AAPL", "buy", 1.0, type="stop", stop_price=120.0049))
    legs = {o.leg_role: o for o in fa.orders() if o.parent}
    assert (legs["limit"].limit_price, legs["stop"].stop_price) == (111.71, 95.0)
    by_id = {o.client_order_id: o for o in fa.orders()}
    assert by_id["l1"].limit_price == 0.1235 and by_id["s1"].stop_price == 120.0


def test_alpaca_sizes_from_the_asset_and_refuses_locally(fa) -> None:
    venue = alpaca(fa)
    assert venue.submit_order(OrderRequest("w1", "BRK.A", "buy", 3.7)).qty == 3.0  # not fractionable
    assert venue.submit_order(OrderRequest("c1", "BTC/USD", "buy", 0.1234567891234)).qty == 0.123456789
    posts = len(fa.requests("POST", "/v2/orders"))
    with pytest.raises(OrderRejectedError, match="less than one share"):
        venue.submit_order(OrderRequest("w2", "BRK.A", "buy", 0.5))
    with pytest.raises(OrderRejectedError, match="min_order_size 0.0001"):
        venue.submit_order(OrderRequest("c2", "BTC/USD", "buy", 0.00005))
    with pytest.raises(OrderRejectedError, match="HALT is not tradable"):
        venue.submit_order(OrderRequest("h1", "HALT", "buy", 1.0))
    assert len(fa.requests("POST", "/v2/orders")) == posts  # refused before sending
    assert len(fa.requests("GET", "/v2/assets/BRK.A")) == 1  # the asset is read once


def test_alpaca_capability_check_is_one_config_error(fa) -> None:
    venue = alpaca(fa)
    venue.check_tradable(["AAPL", "PENNY"], stop_loss=True, take_profit=True, fractional=False)
    cases = [
        (["AAPL", "HALT"], {}, "config error: data.symbols: HALT is not tradable at alpaca"),
        (["NOPE"], {}, "config error: data.symbols: NOPE is not an asset at alpaca"),
        (
            ["BTC/USD"],
            {},
            "config error: risk.stop_loss: BTC/USD: Alpaca takes bracket orders for equities only (asset class crypto)",
        ),
        (
            ["BRK.A"],
            dict(fractional=True),
            "config error: broker.fractional: BRK.A is not fractionable at alpaca; set broker.fractional: false",
        ),
    ]
    for symbols, extra, line in cases:
        kwargs = dict(dict(stop_loss=True, take_profit=True, fractional=False), **extra)
        with pytest.raises(ConfigError) as err:
            venue.check_tradable(symbols, **kwargs)
        assert err.value.line() == line


# ---- Binance / CCXT ------------------------------------------------------------------------
def ccxt_venue(fake: FakeBinance) -> CcxtVenue:
    creds = CcxtCredentials(api_key=SecretStr(fake.key), secret=SecretStr(fake.secret))
    return CcxtVenue(
        "binance",
        creds,
        symbols=list(fake.symbols),
        api_url=fake.base_url,
        timeout=TIMEOUT,
        retry=POLICY,
        sleep=lambda s: None,
        enable_rate_limit=False,
    )


def make_binance(**kwargs) -> FakeBinance:
    bars = {"BTC/USDT": BARS, "ETH/USDT": BARS}
    fake = FakeBinance(bars, warmup=WARMUP, balances={"USDT": 10_000.0, "ETH": 5.0}, fee=0.001, step=0.001, **kwargs)
    fake.symbols = list(bars)
    return fake


@pytest.fixture
def fb():
    with make_binance(
        tick={"BTC/USDT": 0.01, "ETH/USDT": 0.1}, min_notional=10.0, oco_allowed={"BTC/USDT": True, "ETH/USDT": False}
    ) as fake:
        yield fake


def raw(fb: FakeBinance) -> ccxt.binance:
    """Return a ccxt client whose own rounding is off, so the fake sees the prices as given."""
    venue = ccxt_venue(fb)
    ex = venue._ex
    ex.load_markets()
    for market in ex.markets.values():
        market["precision"]["price"] = 1e-12
        market["limits"]["cost"]["min"] = None
    return ex


def test_fake_binance_serves_its_filters(fb) -> None:
    markets = ccxt_venue(fb)._ex.load_markets()
    btc, eth = markets["BTC/USDT"], markets["ETH/USDT"]
    assert (btc["precision"]["price"], eth["precision"]["price"]) == (0.01, 0.1)
    assert btc["limits"]["cost"]["min"] == 10.0
    assert (btc["info"]["ocoAllowed"], eth["info"]["ocoAllowed"]) == (True, False)


def test_fake_binance_refuses_what_binance_refuses(fb) -> None:
    ex = raw(fb)
    cases = [  # last price 100; tick 0.01; min notional 10
        (lambda: ex.create_order("BTC/USDT", "limit", "buy", 1, TP), "-1013", "PRICE_FILTER"),
        (
            lambda: ex.create_order("BTC/USDT", "market", "sell", 1, None, {"triggerPrice": 90.001}),
            "-1013",
            "PRICE_FILTER",
        ),
        (lambda: ex.create_order("BTC/USDT", "limit", "buy", 0.05, 99.0), "-1013", "NOTIONAL"),
        (lambda: ex.create_order("BTC/USDT", "market", "buy", 0.05), "-1013", "NOTIONAL"),
    ]
    for send, code, msg in cases:
        with pytest.raises(ccxt.BaseError) as err:
            send()
        assert code in str(err.value) and msg in str(err.value)
    # ccxt knows Binance's exact -2010 message for this one and names the error after it
    with pytest.raises(ccxt.OrderImmediatelyFillable, match="Stop price would trigger immediately."):
        ex.create_order("ETH/USDT", "market", "sell", 1, None, {"triggerPrice": 101.0})
    assert fb.orders() == []


def oco(ex, symbol: str, side: str, limit: float, stop: float, qty: float = 1.0) -> dict:
    above, below = ({"Type": "LIMIT_MAKER", "Price": limit}, {"Type": "STOP_LOSS", "StopPrice": stop})
    if side == "buy":
        above, below = ({"Type": "STOP_LOSS", "StopPrice": stop}, {"Type": "LIMIT_MAKER", "Price": limit})
    params = {
        "symbol": symbol.replace("/", ""),
        "side": side.upper(),
        "quantity": qty,
        **{f"above{k}": v for k, v in above.items()},
        **{f"below{k}": v for k, v in below.items()},
    }
    return ex.privatePostOrderListOco(params)


def test_fake_binance_oco_rules(fb) -> None:
    ex = raw(fb)
    fb.engine.balances["BTC"] = 5.0
    cases = [  # last price 100
        (("BTC/USDT", "sell", 110.0, 101.0), "The relationship of the prices for the orders is not correct."),
        (("BTC/USDT", "sell", 99.0, 95.0), "The relationship of the prices for the orders is not correct."),
        (("BTC/USDT", "buy", 99.0, 98.0), "The relationship of the prices for the orders is not correct."),
        (("BTC/USDT", "sell", 110.005, 95.0), "Filter failure: PRICE_FILTER"),
        (("BTC/USDT", "sell", 110.0, 95.0, 0.1), "Filter failure: NOTIONAL"),
        (("ETH/USDT", "sell", 110.0, 95.0), "OCO orders are not supported for this symbol."),
    ]
    for args, msg in cases:
        with pytest.raises(ccxt.BaseError, match=msg):
            oco(ex, *args)
    assert fb.orders() == []
    oco(ex, "BTC/USDT", "sell", 110.0, 95.0)
    assert len(fb.orders()) == 2


def test_ccxt_rounds_prices_to_the_markets_tick(fb) -> None:
    venue = ccxt_venue(fb)
    venue.submit_order(OrderRequest("t1", "BTC/USDT", "buy", 1.0, type="limit", limit_price=TP - 15))
    venue.submit_order(OrderRequest("t2", "ETH/USDT", "sell", 1.0, type="limit", limit_price=TP))
    venue.submit_order(OrderRequest("t3", "ETH/USDT", "sell", 1.0, type="stop", stop_price=90.0333))
    by_id = {o.client_order_id: o for o in fb.orders()}
    assert by_id["t1"].limit_price == 96.71 and by_id["t2"].limit_price == 111.7
    assert by_id["t3"].stop_price == 90.0


def test_ccxt_bracket_exits_are_rounded_and_armed(fb) -> None:
    venue = ccxt_venue(fb)
    venue.submit_order(OrderRequest("b1", "BTC/USDT", "buy", 1.0, take_profit=TP, stop_loss=95.123456))
    fb.advance()  # the entry fills at the next open (100)
    venue.open_orders()  # arms the exits as one OCO list
    legs = {o.leg_role: o for o in fb.orders() if o.order_class == "oco"}
    assert (legs["limit"].limit_price, legs["stop"].stop_price) == (111.71, 95.12)


def test_ccxt_refuses_small_orders_locally(fb) -> None:
    venue = ccxt_venue(fb)
    cases = [
        (
            OrderRequest("n1", "BTC/USDT", "buy", 0.05, type="limit", limit_price=99.0),
            r"notional 4.95 USDT \(0.05 BTC/USDT at 99\) is below the market minimum 10 \(limits.cost.min\)",
        ),
        (OrderRequest("n2", "BTC/USDT", "buy", 0.05), r"notional 5 USDT .* \(limits.cost.min\)"),
        (OrderRequest("n3", "BTC/USDT", "buy", 0.0004), r"below the market minimum 0.001 \(limits.amount.min\)"),
        (
            OrderRequest("n4", "BTC/USDT", "buy", 0.11, take_profit=110.0, stop_loss=90.0),
            r"notional 9.9 USDT \(0.11 BTC/USDT at 90\)",
        ),  # its stop-loss exit would be too small
    ]
    for req, msg in cases:
        with pytest.raises(OrderRejectedError, match=msg):
            venue.submit_order(req)
    assert fb.requests("POST", "/api/v3/order") == []  # nothing was sent


def test_ccxt_capability_check_reads_oco_from_the_market(fb) -> None:
    venue = ccxt_venue(fb)
    venue.check_tradable(["BTC/USDT", "ETH/USDT"], stop_loss=True, take_profit=False, fractional=True)
    venue.check_tradable(["BTC/USDT"], stop_loss=True, take_profit=True, fractional=True)
    with pytest.raises(ConfigError) as err:
        venue.check_tradable(["BTC/USDT", "ETH/USDT"], stop_loss=True, take_profit=True, fractional=True)
    assert err.value.line() == (
        "config error: risk.stop_loss: ETH/USDT: the exchange does not allow OCO "
        "orders (market info ocoAllowed=false), needed for stop_loss + take_profit"
    )
    with pytest.raises(ConfigError, match="data.symbols: DOGE/USDT is not a market at binance"):
        venue.check_tradable(["DOGE/USDT"], stop_loss=False, take_profit=False, fractional=True)
    with pytest.raises(OrderRejectedError, match="ocoAllowed=False"):
        venue.submit_order(OrderRequest("o1", "ETH/USDT", "buy", 1.0, take_profit=110.0, stop_loss=90.0))
