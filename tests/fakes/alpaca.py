"""Fake Alpaca: the trading (v2) and market-data (v2 stocks, v1beta3 crypto) REST subset
that alpaca-py's ``TradingClient`` and historical data clients use.

Start it, then point the real SDK at it::

    with FakeAlpaca({"AAPL": bars}) as fake:
        client = TradingClient(fake.key, fake.secret, paper=True, url_override=fake.base_url)
        StockHistoricalDataClient(fake.key, fake.secret, url_override=fake.base_url)

Trading and data share one base URL. Crypto symbols contain a slash (``BTC/USD``); their
positions are reported without it (``BTCUSD``) like the real API.

Order rules, as strict as Alpaca (``assets`` overrides an asset's fields per symbol; served at
``GET /v2/assets/{symbol_or_asset_id}``, https://docs.alpaca.markets/reference/get-v2-assets-1):

* prices (``limit_price``, ``stop_price``, ``take_profit.limit_price``,
  ``stop_loss.stop_price``) of US equities must be whole cents at or above $1.00 and multiples
  of $0.0001 below (SEC Rule 612; Alpaca answers 422 ``{"code": 42210000, "message": "invalid
  limit_price 11.055. sub-penny increment does not fulfill minimum pricing criteria"}``, see
  alpacahq/alpaca-trade-api-go#260 and alpaca-trade-api-csharp#497); crypto prices must be
  multiples of the asset's ``price_increment``;
* a fractional qty needs a ``fractionable`` asset ("requested asset is not fractionable",
  https://alpaca.markets/support/how-do-i-know-if-an-asset-is-fractionable) and, for equities,
  ``time_in_force=day`` ("fractional trading is currently supported only for day orders",
  https://docs.alpaca.markets/docs/fractional-trading);
* crypto qty must be a multiple of ``min_trade_increment`` and at least ``min_order_size``
  (https://docs.alpaca.markets/docs/crypto-trading); an asset with ``tradable: false`` takes no
  orders.

Short selling (equities; crypto cannot be shorted: its instruments are not shortable and a sell
needs the coins):

* a short sale is a plain ``sell`` of a stock not held long ("you can open a short position by
  submitting a sell order for a security that you have no open long position with", Alpaca's
  shorting example, forum.alpaca.markets/t/how-to-short-stocks-using-alpacas-v2-api/21); a sell
  larger than the long is refused by the ``qty_available`` rule below (no flip in one order);
* only assets marked ``shortable`` and ``easy_to_borrow`` open shorts ("Alpaca currently only
  supports opening short positions in easy-to-borrow (ETB) securities",
  https://alpaca.markets/support/short-selling-fees); others: 422 ``asset X cannot be sold
  short``;
* whole shares only: fractional orders are market/day orders for buying and selling what is
  held (https://docs.alpaca.markets/docs/fractional-trading); Alpaca changed order acceptance
  in October 2021 so that fractional sells cannot leave an account net short ("Shorting
  Prevention Breaking Change Notification", alpaca.markets/blog). No page we read states the
  rule for a fractional sell opening a short in so many words: the fake refuses it (422, its
  message ``fractional orders cannot be sold short`` is ours, not Alpaca's), the stricter reading;
* bracket / OTO exits must lie on the right side of the base price (the entry's limit price, else
  the last price): for a buy entry ``take_profit.limit_price >= base_price + 0.01`` and
  ``stop_loss.stop_price <= base_price - 0.01``; for a sell (short) entry the mirror,
  ``take_profit.limit_price <= base_price - 0.01`` and ``stop_loss.stop_price >= base_price +
  0.01`` (Alpaca answers 422 ``{"code": 42210000, "message": "stop_loss.stop_price must be >=
  base_price + 0.01"}``; https://docs.alpaca.markets/docs/orders-at-alpaca, bracket orders);
* a short position is reported with a negative ``qty`` and ``side: short``
  (https://docs.alpaca.markets/reference/getallopenpositions).
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pandas as pd

from tests.fakes.engine import Engine, FakeOrder, Instrument, Rejection
from tests.fakes.server import Fault, Request, Response
from tests.fakes.venue import FakeVenue

_NS = uuid.UUID("6f1c0d1e-5b7a-4c4e-9a51-6a1f0c2d3e4f")
_TF_UNITS = {
    "Min": "min",
    "T": "min",
    "Hour": "h",
    "H": "h",
    "Day": "D",
    "D": "D",
    "Week": "W",
    "W": "W",
}
_REJECT = {  # engine rejection kind -> (HTTP status, Alpaca code)
    "insufficient_funds": (403, 40310000),
    "duplicate": (422, 40010001),
    "invalid_qty": (422, 40010001),
    "invalid": (422, 40010001),
    "unknown_symbol": (422, 40010001),
    "no_price": (422, 40010001),
    "not_cancelable": (422, 42210000),
    "pricing": (422, 42210000),
    "short": (422, 42210000),
}
TICK = 0.01  # the least distance between a bracket's exits and its base price


def _iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None else ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(x: float | None) -> str | None:
    if x is None:
        return None
    return f"{x:.10f}".rstrip("0").rstrip(".") or "0"


def _ts(text: str) -> pd.Timestamp:
    t = pd.Timestamp(text)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _uid(text: str) -> str:
    return str(uuid.uuid5(_NS, text))


def _multiple(x: float, step: float) -> bool:
    ratio = Decimal(repr(x)) / Decimal(repr(step))
    return ratio == ratio.to_integral_value()


def _on_grid(price: float, asset: dict, crypto: bool) -> bool:
    if crypto:
        return _multiple(price, float(asset["price_increment"]))
    return _multiple(price, 0.01 if price >= 1.0 else 0.0001)


def _default_asset(symbol: str) -> dict:
    """Return Alpaca's asset entity for ``symbol`` (equity: fractionable, no size rules)."""
    crypto = "/" in symbol
    return {
        "id": _uid(symbol),
        "class": "crypto" if crypto else "us_equity",
        "exchange": "CRYPTO" if crypto else "NASDAQ",
        "symbol": symbol,
        "name": symbol,
        "status": "active",
        "tradable": True,
        "marginable": not crypto,
        "shortable": not crypto,
        "easy_to_borrow": not crypto,
        "fractionable": True,
        "min_order_size": "0.0001" if crypto else None,
        "min_trade_increment": "0.000000001" if crypto else None,
        "price_increment": "0.01" if crypto else None,
        "maintenance_margin_requirement": 100 if crypto else 30,
        "attributes": [],
    }


def parse_timeframe(tf: str) -> pd.Timedelta:
    """Return the duration of an Alpaca timeframe string such as ``1Day`` or ``15Min``."""
    m = re.fullmatch(r"(\d+)([A-Za-z]+)", tf or "")
    if not m or m.group(2) not in _TF_UNITS:
        raise ValueError(tf)
    return pd.Timedelta(int(m.group(1)), _TF_UNITS[m.group(2)])


class FakeAlpaca(FakeVenue):
    """Fake Alpaca paper account over ``bars`` (symbol -> bar table)."""

    def __init__(
        self,
        bars: dict[str, pd.DataFrame],
        timeframe: str = "1Hour",
        warmup: int = 20,
        cash: float = 100_000.0,
        crypto_fee: float = 0.0025,
        key: str = "fake-key-id",
        secret: str = "fake-secret-key",
        page_size: int = 10_000,
        assets: dict[str, dict] | None = None,
        cancel_delay: int = 0,
        check_qty_available: bool = True,
    ):
        """Behaviour knobs (defaults: the lenient behaviour older tests rely on):

        * ``cancel_delay`` -- ``DELETE /v2/orders/{id}`` answers 204 but the order (with its
          bracket legs / OCO sibling) only turns ``pending_cancel``; it becomes ``canceled``
          after ``cancel_delay`` more bars are revealed (:meth:`advance`), counted in bars, not
          requests. Until then it keeps its quantity (``qty_available``) and may still fill if
          a bar triggers it (then it is ``filled``: the cancel failed). Alpaca: "Upon acceptance
          of the cancel request, it returns status 204" (docs.alpaca.markets/reference/
          cancel-an-order-by-id); a cancel is "simply a request", the order "will typically be
          pending cancel, cancelled or filled (if the order could not be cancelled)"
          (forum.alpaca.markets/t/orders-are-showing-pending-cancel/813). A second DELETE of a
          pending_cancel order answers 204 and changes nothing. Settable at run time
          (attribute ``cancel_delay``).
        * ``check_qty_available`` -- a sell of a stock held long may not exceed the position's
          ``qty_available`` (position minus what open sell orders, e.g. active bracket exit
          legs or pending_cancel orders, hold): 403 ``{"code": 40310000, "message":
          "insufficient qty available for order (requested: 10, available: 0)"}`` (the wording
          Alpaca users report, e.g. alpacahq/alpaca-trade-api-csharp#247). So a sell larger
          than the long position (a long-to-short flip in one order) is refused too.
        """
        self.cancel_delay, self.check_qty_available = cancel_delay, check_qty_available
        instruments = [self._instrument(sym, df, crypto_fee) for sym, df in bars.items()]
        self.assets = {s: {**_default_asset(s), **(assets or {}).get(s, {})} for s in bars}
        super().__init__(Engine(instruments, parse_timeframe(timeframe), warmup, {"USD": cash}))
        self.timeframe, self.key, self.secret, self.page_size = timeframe, key, secret, page_size
        self.activities: list[dict] = []
        for path, fn in [
            ("GET /v2/account", self._account),
            ("GET /v2/clock", self._clock),
            ("GET /v2/assets/*", self._asset),
            ("GET /v2/positions", self._positions),
            ("GET /v2/positions/*", self._position),
            ("POST /v2/orders", self._post_order),
            ("GET /v2/orders", self._list_orders),
            ("GET /v2/orders:by_client_order_id", self._by_client_id),
            ("GET /v2/orders/*", self._get_order),
            ("DELETE /v2/orders/*", self._cancel),
            ("GET /v2/account/activities/FILL", self._fill_activities),
            ("GET /v2/stocks/bars", self._bars),
            ("GET /v1beta3/crypto/us/bars", self._bars),
        ]:
            method, route = path.split(" ")
            self.route(method, route, fn)

    @staticmethod
    def _instrument(symbol: str, bars: pd.DataFrame, crypto_fee: float) -> Instrument:
        if "/" in symbol:
            base, quote = symbol.split("/")
            return Instrument(symbol, base, quote, bars, crypto_fee, True)
        return Instrument(symbol, symbol, "USD", bars, shortable=True)

    # ---- plumbing ---------------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        key, secret = req.headers.get("apca-api-key-id"), req.headers.get("apca-api-secret-key")
        if key is None or secret is None:
            return Response(401, {"code": 40110000, "message": "request is not authorized"})
        if key != self.key or secret != self.secret:
            if req.path.startswith("/v2/stocks") or req.path.startswith("/v1beta3"):
                return Response(403, {"message": "forbidden"})
            return Response(401, {"code": 40110000, "message": "request is not authorized"})
        return None

    def fault_response(self, fault: Fault, req: Request) -> Response:
        if fault.kind == "http_429":
            return Response(
                429,
                {"code": 42910000, "message": "rate limit exceeded"},
                {"Retry-After": f"{fault.retry_after:g}"},
            )
        if fault.kind == "http_500":
            return Response(500, {"code": 50010000, "message": "internal server error occurred"})
        if fault.kind == "outage":
            return Response(503, {"message": "service unavailable"})
        return Response(403, {"code": 40310000, "message": "insufficient buying power"})

    @staticmethod
    def _error(err: Rejection) -> Response:
        status, code = _REJECT.get(err.kind, (422, 40010001))
        return Response(status, {"code": code, "message": err.message})

    # ---- JSON shapes ------------------------------------------------------------------
    def _order_json(self, o: FakeOrder, nested: bool = True) -> dict:
        crypto = "/" in o.symbol
        legs = [self._order_json(self.engine.orders[s]) for s in o.legs] if nested and o.legs else None
        return {
            "id": _uid(f"order-{o.seq}"),
            "client_order_id": o.client_order_id,
            "created_at": _iso(o.created),
            "updated_at": _iso(o.updated),
            "submitted_at": _iso(o.created),
            "filled_at": _iso(o.filled_at),
            "expired_at": _iso(o.updated) if o.status == "expired" else None,
            "canceled_at": _iso(o.canceled_at),
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": _uid(o.symbol),
            "symbol": o.symbol,
            "asset_class": "crypto" if crypto else "us_equity",
            "notional": None,
            "qty": _num(o.qty),
            "filled_qty": _num(o.filled_qty),
            "filled_avg_price": _num(o.avg_price),
            "order_class": o.order_class,
            "order_type": o.type,
            "type": o.type,
            "side": o.side,
            "time_in_force": "gtc",
            "limit_price": _num(o.limit_price),
            "stop_price": _num(o.stop_price),
            "status": "pending_cancel" if o.cancel_bars and o.is_open else o.status,
            "extended_hours": False,
            "legs": legs,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
        }

    def _position_json(self, symbol: str) -> dict:
        inst = self.engine.instruments[symbol]
        qty = self.engine.position(symbol)
        price = self.engine.last_price(symbol)
        cost = self.engine.cost.get(symbol, 0.0)
        crypto = "/" in symbol
        return {
            "asset_id": _uid(symbol),
            "symbol": symbol.replace("/", ""),
            "exchange": "CRYPTO" if crypto else "NASDAQ",
            "asset_class": "crypto" if crypto else "us_equity",
            "asset_marginable": not crypto,
            "avg_entry_price": _num(cost / qty),
            "qty": _num(qty),
            "side": "long" if qty > 0 else "short",
            "market_value": _num(qty * price),
            "cost_basis": _num(cost),
            "unrealized_pl": _num(qty * price - cost),
            "unrealized_plpc": _num((qty * price - cost) / abs(cost) if cost else 0.0),
            "unrealized_intraday_pl": "0",
            "unrealized_intraday_plpc": "0",
            "current_price": _num(price),
            "lastday_price": _num(price),
            "change_today": "0",
            "qty_available": _num(qty - self.engine.reserved(inst.base) - self._held_sells(symbol)),
        }

    def _held_sells(self, symbol: str) -> float:
        """Return the stock quantity open sell orders hold against a long position (an OCO
        group once; the engine's ``reserved`` covers non-shortable assets)."""
        inst = self.engine.instruments[symbol]
        if not inst.shortable or self.engine.position(symbol) <= 0:
            return 0.0
        held, groups = 0.0, set()
        for o in self.engine.orders.values():
            if o.symbol != symbol or o.side != "sell" or not o.is_open or o.status == "held":
                continue
            if o.oco_group is not None:
                if o.oco_group in groups:
                    continue
                groups.add(o.oco_group)
            held += o.remaining
        return held

    def _check_qty_available(self, body: dict) -> None:
        symbol = body.get("symbol", "")
        inst = self.engine.instruments.get(symbol)
        if not self.check_qty_available or inst is None or body.get("side") != "sell":
            return
        position = self.engine.position(symbol)
        if not inst.shortable or position <= 0:
            return
        qty, free = float(body.get("qty") or 0), position - self._held_sells(symbol)
        if qty > free + 1e-9:
            raise Rejection(
                "insufficient_funds",
                f"insufficient qty available for order (requested: {_num(qty)}, available: {_num(max(free, 0.0))})",
            )

    # ---- trading routes -------------------------------------------------------------
    def _account(self, req: Request) -> Response:
        cash = self.engine.balances.get("USD", 0.0)
        equity = self.engine.equity("USD")
        longs = sum(max(self.engine.position(s), 0) * self.engine.last_price(s) for s in self.engine.instruments)
        return Response(
            200,
            {
                "id": _uid("account"),
                "account_number": "PA0FAKE0001",
                "status": "ACTIVE",
                "crypto_status": "ACTIVE",
                "currency": "USD",
                "buying_power": _num(max(cash, 0.0)),
                "regt_buying_power": _num(max(cash, 0.0)),
                "non_marginable_buying_power": _num(max(cash, 0.0)),
                "cash": _num(cash),
                "accrued_fees": "0",
                "portfolio_value": _num(equity),
                "pattern_day_trader": False,
                "trading_blocked": False,
                "transfers_blocked": False,
                "account_blocked": False,
                "created_at": "2020-01-01T00:00:00Z",
                "trade_suspended_by_user": False,
                "multiplier": "1",
                "shorting_enabled": True,
                "equity": _num(equity),
                "last_equity": _num(equity),
                "long_market_value": _num(longs),
                "short_market_value": _num(equity - cash - longs),
                "initial_margin": "0",
                "maintenance_margin": "0",
                "last_maintenance_margin": "0",
                "sma": "0",
                "daytrade_count": 0,
            },
        )

    def _clock(self, req: Request) -> Response:
        clock = self.engine.clock
        return Response(
            200,
            {
                "timestamp": clock.isoformat(),
                "is_open": True,
                "next_open": clock.isoformat(),
                "next_close": (clock + self.engine.timeframe).isoformat(),
            },
        )

    def _positions(self, req: Request) -> Response:
        held = [s for s in self.engine.instruments if self.engine.position(s) != 0]
        return Response(200, [self._position_json(s) for s in held])

    def _position(self, req: Request) -> Response:
        wanted = req.path.rsplit("/", 1)[1].replace("%2F", "/").replace("/", "")
        for sym in self.engine.instruments:
            if sym.replace("/", "") == wanted and self.engine.position(sym) != 0:
                return Response(200, self._position_json(sym))
        return Response(404, {"code": 40410000, "message": "position does not exist"})

    def _post_order(self, req: Request) -> Response:
        body = req.json()
        try:
            order = self._create(body)
        except Rejection as err:
            return self._error(err)
        return Response(200, self._order_json(order))

    def _asset(self, req: Request) -> Response:
        wanted = req.path.split("/v2/assets/", 1)[1].replace("%2F", "/")
        for sym, asset in self.assets.items():
            if wanted in (sym, sym.replace("/", ""), asset["id"]):
                return Response(200, asset)
        return Response(404, {"code": 40410000, "message": "asset not found"})

    def _check_rules(self, body: dict) -> None:
        """Refuse what Alpaca refuses: off-grid prices, sizes the asset does not allow."""
        asset = self.assets.get(body.get("symbol", ""))
        if asset is None:
            return  # the engine answers for unknown symbols
        if not asset["tradable"]:
            raise Rejection("invalid", f"asset {asset['symbol']} is not tradable")
        prices = [("limit_price", body.get("limit_price")), ("stop_price", body.get("stop_price"))]
        prices += [(f"take_profit.{k}", v) for k, v in (body.get("take_profit") or {}).items()]
        prices += [(f"stop_loss.{k}", v) for k, v in (body.get("stop_loss") or {}).items()]
        crypto = asset["class"] == "crypto"
        for field, value in prices:
            if value is not None and not _on_grid(float(value), asset, crypto):
                what = "price increment" if crypto else "sub-penny increment"
                raise Rejection("pricing", f"invalid {field} {value}. {what} does not fulfill minimum pricing criteria")
        qty = float(body.get("qty") or 0)
        if not float(qty).is_integer() and not asset["fractionable"]:
            raise Rejection("invalid_qty", "requested asset is not fractionable")
        if crypto:
            step, least = float(asset["min_trade_increment"]), float(asset["min_order_size"])
            if not _multiple(qty, step) or qty < least:
                raise Rejection(
                    "invalid_qty",
                    f"qty must be >= {asset['min_order_size']} and a multiple of {asset['min_trade_increment']}",
                )
        elif not float(qty).is_integer() and body.get("time_in_force") != "day":
            raise Rejection("pricing", "fractional orders must be DAY orders")

    def _check_short(self, body: dict) -> None:
        """Refuse a short sale Alpaca refuses: of a stock not shortable + easy to borrow, or fractional."""
        symbol = body.get("symbol", "")
        asset, inst = self.assets.get(symbol), self.engine.instruments.get(symbol)
        if asset is None or inst is None or body.get("side") != "sell" or asset["class"] == "crypto":
            return
        if self.engine.position(symbol) > 0:
            return  # a sell of what is held long (qty_available covers the rest)
        if not (asset["shortable"] and asset["easy_to_borrow"]):
            raise Rejection("short", f"asset {symbol} cannot be sold short")
        if not float(body.get("qty") or 0).is_integer():
            raise Rejection("short", "fractional orders cannot be sold short")

    def _check_bracket_prices(self, body: dict) -> None:
        """Refuse exits on the wrong side of the base price (the entry's limit, else the last price)."""
        tp, sl = body.get("take_profit"), body.get("stop_loss")
        if (body.get("order_class") or "simple") not in ("bracket", "oto") or not (tp or sl):
            return
        symbol = body.get("symbol", "")
        if symbol not in self.engine.instruments:
            return
        base = float(body["limit_price"]) if body.get("limit_price") else self.engine.last_price(symbol)
        buy = body.get("side") == "buy"
        if tp and tp.get("limit_price") is not None:
            price, bound = float(tp["limit_price"]), base + TICK if buy else base - TICK
            if (price < bound - 1e-9) if buy else (price > bound + 1e-9):
                raise Rejection(
                    "pricing",
                    f"take_profit.limit_price must be {'>=' if buy else '<='} base_price {'+' if buy else '-'} 0.01",
                )
        if sl and sl.get("stop_price") is not None:
            price, bound = float(sl["stop_price"]), base - TICK if buy else base + TICK
            if (price > bound + 1e-9) if buy else (price < bound - 1e-9):
                raise Rejection(
                    "pricing",
                    f"stop_loss.stop_price must be {'<=' if buy else '>='} base_price {'-' if buy else '+'} 0.01",
                )

    def _create(self, body: dict) -> FakeOrder:
        cid = body.get("client_order_id") or _uid(f"auto-{len(self.engine.orders)}")
        symbol, order_class = body.get("symbol", ""), body.get("order_class") or "simple"
        tp, sl = body.get("take_profit"), body.get("stop_loss")
        self._check_rules(body)
        self._check_short(body)
        self._check_bracket_prices(body)
        self._check_qty_available(body)
        if order_class in ("bracket", "oto") and "/" in symbol:
            raise Rejection("invalid", "crypto orders only support the simple order class")
        if order_class == "bracket" and not (tp and sl):
            raise Rejection("invalid", "bracket orders require take_profit and stop_loss")
        limit = float(body["limit_price"]) if body.get("limit_price") else None
        stop = float(body["stop_price"]) if body.get("stop_price") else None
        order = self.engine.submit(
            cid,
            symbol,
            body.get("side", ""),
            float(body.get("qty") or 0),
            body.get("type", ""),
            limit,
            stop,
            unique_cid="all",
        )
        legs = []
        if tp and order_class in ("bracket", "oto"):
            legs.append((_uid(f"{cid}-take_profit"), "limit", float(tp["limit_price"])))
        if sl and order_class in ("bracket", "oto"):
            legs.append((_uid(f"{cid}-stop_loss"), "stop", float(sl["stop_price"])))
        if legs:
            self.engine.submit_bracket(order, legs)
        return order

    def _list_orders(self, req: Request) -> Response:
        p = req.params
        status, nested = p.get("status", "open"), p.get("nested") in ("true", "True")
        orders = [o for o in self.engine.orders.values() if not (nested and o.parent)]
        if status == "open":
            orders = [o for o in orders if o.is_open]
        elif status == "closed":
            orders = [o for o in orders if not o.is_open]
        if p.get("after"):
            orders = [o for o in orders if o.created > _ts(p["after"])]
        if p.get("symbols"):
            orders = [o for o in orders if o.symbol in p["symbols"].split(",")]
        if p.get("direction", "desc") == "desc":
            orders = orders[::-1]
        orders = orders[: int(p.get("limit", 50))]
        return Response(200, [self._order_json(o, nested) for o in orders])

    def _by_client_id(self, req: Request) -> Response:
        order = self.engine.find_by_client_id(req.params.get("client_order_id", ""))
        if order is None:
            return Response(404, {"code": 40410000, "message": "order not found"})
        return Response(200, self._order_json(order))

    def _find(self, req: Request) -> FakeOrder | None:
        wanted = req.path.rsplit("/", 1)[1]
        return next((o for o in self.engine.orders.values() if _uid(f"order-{o.seq}") == wanted), None)

    def _get_order(self, req: Request) -> Response:
        order = self._find(req)
        if order is None:
            return Response(404, {"code": 40410000, "message": "order not found"})
        return Response(200, self._order_json(order))

    def _cancel(self, req: Request) -> Response:
        order = self._find(req)
        if order is None:
            return Response(404, {"code": 40410000, "message": "order not found"})
        try:
            self.engine.cancel(order, delay=self.cancel_delay)
        except Rejection as err:
            return self._error(err)
        return Response(204)

    def _fill_activities(self, req: Request) -> Response:
        p = req.params
        acts, cum = [], {}
        for f in self.engine.fills:
            order = self.engine.orders[f.order_seq]
            cum[order.seq] = done = cum.get(order.seq, 0.0) + f.qty
            full = done >= order.qty - 1e-12
            acts.append(
                {
                    "id": f"{f.time.strftime('%Y%m%d%H%M%S')}{f.seq:03d}::{_uid(f'fill-{f.seq}')}",
                    "activity_type": "FILL",
                    "transaction_time": _iso(f.time),
                    "type": "fill" if full else "partial_fill",
                    "price": _num(f.price),
                    "qty": _num(f.qty),
                    "side": f.side,
                    "symbol": f.symbol,
                    "leaves_qty": _num(max(order.qty - done, 0.0)),
                    "order_id": _uid(f"order-{order.seq}"),
                    "cum_qty": _num(done),
                    "order_status": "filled" if full else "partially_filled",
                }
            )
        if p.get("after"):
            acts = [a for a in acts if _ts(a["transaction_time"]) > _ts(p["after"])]
        if p.get("page_token"):
            ids = [a["id"] for a in acts]
            acts = acts[ids.index(p["page_token"]) + 1 :] if p["page_token"] in ids else []
        return Response(200, acts[: int(p.get("page_size", 100))])

    # ---- market data ------------------------------------------------------------------
    def _bars(self, req: Request) -> Response:
        p = req.params
        try:
            if parse_timeframe(p.get("timeframe", "")) != self.engine.timeframe:
                raise ValueError
        except ValueError:
            return Response(422, {"code": 42210000, "message": f"invalid timeframe {p.get('timeframe')}"})
        crypto = req.path.startswith("/v1beta3")
        rows = []
        for sym in sorted(p.get("symbols", "").split(",")):
            if sym not in self.engine.instruments or ("/" in sym) != crypto:
                continue
            bars = self.engine.closed_bars(sym)
            if p.get("start"):
                bars = bars[bars.index >= _ts(p["start"])]
            if p.get("end"):
                bars = bars[bars.index <= _ts(p["end"])]
            if p.get("sort") == "desc":
                bars = bars.iloc[::-1]
            rows += [(sym, t, b) for t, b in bars.iterrows()]
        offset = int(p.get("page_token") or 0)
        size = min(int(p.get("limit") or self.page_size), self.page_size)
        page = rows[offset : offset + size]
        out: dict[str, list] = {}
        for sym, t, b in page:
            out.setdefault(sym, []).append(
                {
                    "t": _iso(t),
                    "o": float(b["open"]),
                    "h": float(b["high"]),
                    "l": float(b["low"]),
                    "c": float(b["close"]),
                    "v": float(b["volume"]),
                    "n": 1,
                    "vw": float(b["close"]),
                }
            )
        token = str(offset + size) if offset + size < len(rows) else None
        return Response(200, {"bars": out, "next_page_token": token})
