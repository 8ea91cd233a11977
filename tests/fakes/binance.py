"""Fake Binance spot: the REST subset ccxt's ``binance`` class uses for spot trading.

Point the real client at it by overriding every ``urls['api']`` entry's origin::

    with FakeBinance({"BTC/USDT": bars}) as fake:
        ex = ccxt.binance({"apiKey": fake.key, "secret": fake.secret,
                           "options": {"fetchCurrencies": False, "defaultType": "spot",
                                       "fetchMarkets": {"types": ["spot"]}}})
        ex.urls["api"] = {k: fake.base_url + urlsplit(v).path for k, v in ex.urls["api"].items()}

Filters as strict as Binance (https://developers.binance.com/docs/binance-spot-api-docs/filters),
set per symbol by the constructor and served in ``exchangeInfo``: PRICE_FILTER ``tickSize`` on
price / stopPrice and both OCO legs (``-1013 Filter failure: PRICE_FILTER``), NOTIONAL
``minNotional`` (market orders valued at the last price, ``applyMinToMarket``;
``-1013 Filter failure: NOTIONAL``), LOT_SIZE ``stepSize`` (``-1013 Filter failure: LOT_SIZE``).
A STOP_LOSS at or through the last price is refused (``-2010 Stop price would trigger
immediately.``). An OCO (POST /api/v3/orderList/oco, "New order list - OCO",
https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints) needs
``ocoAllowed`` and SELL: limit price > last price > stop price, BUY: limit < last < stop, else
``-2010 The relationship of the prices for the orders is not correct.``

Signed endpoints check ``X-MBX-APIKEY`` and the HMAC-SHA256 ``signature`` over the raw
query string + body (``-2015`` / ``-1022``, HTTP 401). The fee (``fee`` of the notional) of
a buy is taken from the base asset received, of a sell from the quote asset received.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from tests.fakes.engine import Engine, FakeOrder, Instrument, Rejection
from tests.fakes.server import Fault, Request, Response
from tests.fakes.venue import FakeVenue

_UNITS = {"m": "min", "h": "h", "d": "D", "w": "W"}
_REJECT = {  # engine rejection kind -> (code, msg)
    "insufficient_funds": (-2010, "Account has insufficient balance for requested action."),
    "duplicate": (-2010, "Duplicate order sent."),
    "invalid_qty": (-1013, "Filter failure: LOT_SIZE"),
    "unknown_symbol": (-1121, "Invalid symbol."),
    "invalid": (-1102, "Mandatory parameter was not sent, was empty/null, or malformed."),
    "no_price": (-1013, "Filter failure: NOTIONAL"),
    "not_cancelable": (-2011, "Unknown order sent."),
    "price_filter": (-1013, "Filter failure: PRICE_FILTER"),
    "notional": (-1013, "Filter failure: NOTIONAL"),
    "would_trigger": (-2010, "Stop price would trigger immediately."),
    "oco_prices": (-2010, "The relationship of the prices for the orders is not correct."),
    "oco_not_allowed": (-2010, "OCO orders are not supported for this symbol."),
}
_TYPES_IN = {"MARKET": "market", "LIMIT": "limit", "LIMIT_MAKER": "limit", "STOP_LOSS": "stop"}
_STATUS_OUT = {
    "new": "NEW",
    "held": "NEW",
    "partially_filled": "PARTIALLY_FILLED",
    "filled": "FILLED",
    "canceled": "CANCELED",
    "expired": "EXPIRED",
    "rejected": "REJECTED",
}
PUBLIC = (
    "/api/v3/ping",
    "/api/v3/time",
    "/api/v3/exchangeInfo",
    "/api/v3/klines",
    "/api/v3/ticker/24hr",
    "/api/v3/ticker/price",
)


def _ms(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000_000)


def _num(x: float | None) -> str:
    return f"{(x or 0.0):.8f}"


@dataclass(frozen=True)
class SymbolRules:
    """Filters of one symbol: PRICE_FILTER ``tickSize``, NOTIONAL ``minNotional``, ``ocoAllowed``."""

    tick: float
    min_notional: float
    oco_allowed: bool


def _pick(value, unified: str):
    return value[unified] if isinstance(value, dict) else value


def _on_tick(price: float, tick: float) -> bool:
    ratio = Decimal(repr(price)) / Decimal(repr(tick))
    return ratio == ratio.to_integral_value()


def _flat_bars(price: float, index: pd.DatetimeIndex) -> pd.DataFrame:
    """Return constant bars at ``price`` (a symbol served only to value fees in it)."""
    cols = {"open": price, "high": price, "low": price, "close": price, "volume": 1000.0}
    return pd.DataFrame(cols, index=index, dtype=float)


def parse_interval(interval: str) -> pd.Timedelta:
    """Return the duration of a Binance kline interval such as ``1h`` or ``1d``."""
    if len(interval) < 2 or interval[-1] not in _UNITS or not interval[:-1].isdigit():
        raise ValueError(interval)
    return pd.Timedelta(int(interval[:-1]), _UNITS[interval[-1]])


def sign(secret: str, payload: str) -> str:
    """Return Binance's HMAC-SHA256 hex signature of ``payload``."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _strip_signature(raw: str) -> tuple[str, str | None]:
    parts = raw.split("&") if raw else []
    sig = [p.split("=", 1)[1] for p in parts if p.startswith("signature=")]
    return "&".join(p for p in parts if not p.startswith("signature=")), (sig[0] if sig else None)


class FakeBinance(FakeVenue):
    """Fake Binance spot account over ``bars`` (unified symbol such as ``BTC/USDT`` -> bars)."""

    def __init__(
        self,
        bars: dict[str, pd.DataFrame],
        interval: str = "1h",
        warmup: int = 20,
        balances: dict[str, float] | None = None,
        fee: float = 0.001,
        step: float = 0.00001,
        key: str = "fake-binance-key",
        secret: str = "fake-binance-secret",
        tick: float | dict[str, float] = 0.01,
        min_notional: float | dict[str, float] = 5.0,
        oco_allowed: bool | dict[str, bool] = True,
        lookup_lag: int = 0,
        oco_expire: bool = True,
        fee_asset: str | None = None,
        prices: dict[str, float] | None = None,
    ):
        """Behaviour knobs (defaults: the lenient behaviour older tests rely on):

        * ``lookup_lag`` -- the first N ``GET /api/v3/order`` lookups (by ``orderId`` or
          ``origClientOrderId``) of each newly accepted order answer HTTP 400 ``-2013 Order
          does not exist.`` although it exists. Binance's REST docs ("Data Sources") say the
          API is asynchronous and this endpoint reads Memory => Database; users see -2013 right
          after placing (ccxt/ccxt#1786, JKorf/Binance.Net#692, ccxt/binance-api-node#196).
          Count-based to stay deterministic; the attribute ``lookup_lag`` may be changed
          between requests (it applies to orders accepted afterwards). ``allOrders`` (listed
          by the docs as Database, the most delay-prone source) leaves such an order out for
          as long as its lookups lag; ``myTrades``, ``openOrders`` and ``DELETE /api/v3/order``
          (matching engine) answer at once.
        * ``oco_expire`` -- the first fill, even partial, of one OCO leg leaves the other
          ``EXPIRED`` (not ``CANCELED``): "if one of the orders execute, the other is
          automatically expired" (binance-spot-api-docs faqs/spot_glossary.md, "OCO").
        * ``fee_asset`` + ``prices`` -- pay commissions in a third asset (e.g. ``"BNB"``) valued
          at the constant price of ``prices["BNB/USDT"]``, a symbol served like the others
          (exchangeInfo, klines, ``ticker/24hr``, ``ticker/price``); a buy then receives its
          full quantity. Without enough of it "the full commission will be taken out of your
          received amount" (binance-spot-api-docs faqs/commission_faq.md). The BNB discount
          is not modelled.
        """
        instruments = []
        self.rules: dict[str, SymbolRules] = {}
        for unified, df in bars.items():
            base, quote = unified.split("/")
            instruments.append(Instrument(base + quote, base, quote, df, fee, True, step))
            self.rules[base + quote] = SymbolRules(
                _pick(tick, unified), _pick(min_notional, unified), _pick(oco_allowed, unified)
            )
        for unified, price in (prices or {}).items():
            base, quote = unified.split("/")
            flat = _flat_bars(price, next(iter(bars.values())).index)
            instruments.append(Instrument(base + quote, base, quote, flat, fee, True, step))
            self.rules[base + quote] = self.rules[next(iter(self.rules))]
        for inst in instruments:
            inst.fee_asset = fee_asset
        funds = {"USDT": 10_000.0} if balances is None else balances
        super().__init__(Engine(instruments, parse_interval(interval), warmup, funds))
        self.lookup_lag = lookup_lag
        self.lag_left: dict[int, int] = {}  # order seq -> lookups still to answer -2013
        if oco_expire:
            self.engine.oco_sibling_status = "expired"
        self.interval, self.key, self.secret, self.step = interval, key, secret, step
        self.venue_type: dict[int, str] = {}
        self.list_of: dict[int, tuple[int, str]] = {}
        for method, path, fn in [
            ("GET", "/api/v3/ping", lambda r: Response(200, {})),
            ("GET", "/api/v3/time", lambda r: Response(200, {"serverTime": _ms(self.clock)})),
            ("GET", "/api/v3/exchangeInfo", self._exchange_info),
            ("GET", "/api/v3/klines", self._klines),
            ("GET", "/api/v3/ticker/24hr", self._ticker),
            ("GET", "/api/v3/ticker/price", self._ticker_price),
            ("GET", "/api/v3/account", self._account),
            ("POST", "/api/v3/order", self._new_order),
            ("GET", "/api/v3/order", self._get_order),
            ("DELETE", "/api/v3/order", self._cancel),
            ("GET", "/api/v3/openOrders", self._open),
            ("GET", "/api/v3/allOrders", self._all_orders),
            ("GET", "/api/v3/myTrades", self._my_trades),
            ("POST", "/api/v3/orderList/oco", self._new_oco),
        ]:
            self.route(method, path, fn)

    # ---- plumbing ---------------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        if req.path in PUBLIC:
            return None
        if req.headers.get("x-mbx-apikey") != self.key:
            return Response(401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})
        query, qsig = _strip_signature(req.raw_query)
        body, bsig = _strip_signature(req.body)
        given = qsig or bsig
        if given is None or not hmac.compare_digest(given, sign(self.secret, query + body)):
            return Response(401, {"code": -1022, "msg": "Signature for this request is not valid."})
        if "timestamp" not in req.params:
            return Response(400, {"code": -1102, "msg": "Mandatory parameter 'timestamp' was not sent."})
        return None

    def fault_response(self, fault: Fault, req: Request) -> Response:
        if fault.kind == "http_429":
            return Response(
                429,
                {"code": -1003, "msg": "Too many requests; current request weight exceeded."},
                {"Retry-After": f"{fault.retry_after:g}"},
            )
        if fault.kind in ("http_500", "outage"):  # rest-api.md: 5XX, execution status UNKNOWN
            return Response(
                500 if fault.kind == "http_500" else 503,
                {"code": -1001, "msg": "Internal error; unable to process your request."},
            )
        return Response(400, {"code": -2010, "msg": "Account has insufficient balance for requested action."})

    @staticmethod
    def _error(err: Rejection) -> Response:
        code, msg = _REJECT.get(err.kind, (-1102, err.message))
        return Response(400, {"code": code, "msg": msg})

    def _inst(self, req: Request) -> Instrument:
        symbol = req.params.get("symbol", "")
        if symbol not in self.engine.instruments:
            raise Rejection("unknown_symbol", symbol)
        return self.engine.instruments[symbol]

    # ---- JSON shapes ------------------------------------------------------------------
    def _order_json(self, o: FakeOrder) -> dict:
        list_id = self.list_of.get(o.seq, (-1, ""))[0]
        return {
            "symbol": o.symbol,
            "orderId": o.seq,
            "orderListId": list_id,
            "clientOrderId": o.client_order_id,
            "price": _num(o.limit_price),
            "origQty": _num(o.qty),
            "executedQty": _num(o.filled_qty),
            "cummulativeQuoteQty": _num(o.filled_notional),
            "status": _STATUS_OUT[o.status],
            "timeInForce": "GTC",
            "type": self.venue_type.get(o.seq, "MARKET"),
            "side": o.side.upper(),
            "stopPrice": _num(o.stop_price),
            "icebergQty": _num(0),
            "time": _ms(o.created),
            "updateTime": _ms(o.updated or o.created),
            "isWorking": o.is_open,
            "workingTime": _ms(o.created),
            "origQuoteOrderQty": _num(0),
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }

    def _market_json(self, inst: Instrument) -> dict:
        return {
            "symbol": inst.symbol,
            "status": "TRADING",
            "baseAsset": inst.base,
            "baseAssetPrecision": 8,
            "quoteAsset": inst.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": [
                "LIMIT",
                "LIMIT_MAKER",
                "MARKET",
                "STOP_LOSS",
                "STOP_LOSS_LIMIT",
                "TAKE_PROFIT",
                "TAKE_PROFIT_LIMIT",
            ],
            "icebergAllowed": True,
            "ocoAllowed": self.rules[inst.symbol].oco_allowed,
            "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": "0.01000000",
                    "maxPrice": "1000000.00000000",
                    "tickSize": _num(self.rules[inst.symbol].tick),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": _num(inst.step),
                    "maxQty": "9000.00000000",
                    "stepSize": _num(inst.step),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": _num(self.rules[inst.symbol].min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": "9000000.00000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": [
                "NONE",
                "EXPIRE_TAKER",
                "EXPIRE_MAKER",
                "EXPIRE_BOTH",
            ],
        }

    # ---- public routes ----------------------------------------------------------------
    def _exchange_info(self, req: Request) -> Response:
        return Response(
            200,
            {
                "timezone": "UTC",
                "serverTime": _ms(self.clock),
                "rateLimits": [
                    {
                        "rateLimitType": "REQUEST_WEIGHT",
                        "interval": "MINUTE",
                        "intervalNum": 1,
                        "limit": 6000,
                    }
                ],
                "exchangeFilters": [],
                "symbols": [self._market_json(i) for i in self.engine.instruments.values()],
            },
        )

    def _klines(self, req: Request) -> Response:
        p = req.params
        try:
            inst = self._inst(req)
            if parse_interval(p.get("interval", "")) != self.engine.timeframe:
                raise ValueError
        except Rejection as err:
            return self._error(err)
        except ValueError:
            return Response(400, {"code": -1120, "msg": "Invalid interval."})
        bars = self.engine.closed_bars(inst.symbol)
        starts = pd.Series([_ms(t) for t in bars.index], index=bars.index, dtype="int64")
        if "endTime" in p:
            bars = bars[starts <= int(p["endTime"])]
        limit = min(int(p.get("limit", 500)), 1000)
        if "startTime" in p:
            bars = bars[starts.loc[bars.index] >= int(p["startTime"])].iloc[:limit]
        else:
            bars = bars.iloc[-limit:]
        tf = self.engine.timeframe
        return Response(
            200,
            [
                [
                    _ms(t),
                    _num(b["open"]),
                    _num(b["high"]),
                    _num(b["low"]),
                    _num(b["close"]),
                    _num(b["volume"]),
                    _ms(t + tf) - 1,
                    _num(b["volume"] * b["close"]),
                    1,
                    _num(b["volume"] / 2),
                    _num(b["volume"] * b["close"] / 2),
                    "0",
                ]
                for t, b in bars.iterrows()
            ],
        )

    def _ticker(self, req: Request) -> Response:
        try:
            inst = self._inst(req)
        except Rejection as err:
            return self._error(err)
        bar = self.engine.closed_bars(inst.symbol).iloc[-1]
        last, now = _num(bar["close"]), _ms(self.clock)
        return Response(
            200,
            {
                "symbol": inst.symbol,
                "priceChange": "0",
                "priceChangePercent": "0",
                "weightedAvgPrice": last,
                "prevClosePrice": _num(bar["open"]),
                "lastPrice": last,
                "lastQty": "1",
                "bidPrice": last,
                "bidQty": "1",
                "askPrice": last,
                "askQty": "1",
                "openPrice": _num(bar["open"]),
                "highPrice": _num(bar["high"]),
                "lowPrice": _num(bar["low"]),
                "volume": _num(bar["volume"]),
                "quoteVolume": "0",
                "openTime": now - 86_400_000,
                "closeTime": now,
                "firstId": 1,
                "lastId": 1,
                "count": 1,
            },
        )

    def _ticker_price(self, req: Request) -> Response:
        """``GET /api/v3/ticker/price``: one symbol's last close, or every symbol's."""
        if "symbol" in req.params:
            try:
                syms = [self._inst(req).symbol]
            except Rejection as err:
                return self._error(err)
        else:
            syms = list(self.engine.instruments)
        out = [{"symbol": s, "price": _num(self.engine.last_price(s))} for s in syms]
        return Response(200, out[0] if "symbol" in req.params else out)

    # ---- signed routes ----------------------------------------------------------------
    def _account(self, req: Request) -> Response:
        assets = dict.fromkeys(self.engine.balances, 0.0)
        for inst in self.engine.instruments.values():
            assets.setdefault(inst.base, 0.0)
            assets.setdefault(inst.quote, 0.0)
        balances = []
        for asset in sorted(assets):
            total, locked = self.engine.balances.get(asset, 0.0), self.engine.reserved(asset)
            balances.append({"asset": asset, "free": _num(total - locked), "locked": _num(locked)})
        return Response(
            200,
            {
                "makerCommission": 10,
                "takerCommission": 10,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "canTrade": True,
                "canWithdraw": True,
                "canDeposit": True,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": _ms(self.clock),
                "accountType": "SPOT",
                "balances": balances,
                "permissions": ["SPOT"],
                "uid": 1,
            },
        )

    def _new_order(self, req: Request) -> Response:
        p = req.params
        try:
            inst = self._inst(req)
            vtype = p.get("type", "")
            if vtype not in _TYPES_IN or "quantity" not in p:
                raise Rejection("invalid", f"unsupported order {vtype}")
            price = float(p["price"]) if "price" in p else None
            stop = float(p["stopPrice"]) if "stopPrice" in p else None
            side = p.get("side", "").lower()
            self._check_filters(inst, side, float(p["quantity"]), price, stop)
            if stop is not None and self._triggers_now(inst, side, stop):
                raise Rejection("would_trigger", f"stop {stop} vs last")
            order = self.engine.submit(
                p.get("newClientOrderId") or f"auto{len(self.engine.orders) + 1}",
                inst.symbol,
                p.get("side", "").lower(),
                float(p["quantity"]),
                _TYPES_IN[vtype],
                float(p["price"]) if "price" in p else None,
                float(p["stopPrice"]) if "stopPrice" in p else None,
                unique_cid="open",
            )
        except Rejection as err:
            return self._error(err)
        self.venue_type[order.seq] = vtype
        self.lag_left[order.seq] = self.lookup_lag
        out = self._order_json(order)
        out.update(transactTime=_ms(self.clock), fills=[])
        return Response(200, out)

    def _check_filters(self, inst: Instrument, side: str, qty: float, price: float | None, stop: float | None) -> None:
        """PRICE_FILTER (tickSize) on price/stopPrice, NOTIONAL (market orders: last price)."""
        rules = self.rules[inst.symbol]
        for value in (price, stop):
            if value is not None and not _on_tick(value, rules.tick):
                raise Rejection("price_filter", f"{value} not a multiple of {rules.tick}")
        ref = price or stop or self.engine.last_price(inst.symbol)
        if qty * ref < rules.min_notional - 1e-12:
            raise Rejection("notional", f"{qty * ref} < {rules.min_notional}")

    def _triggers_now(self, inst: Instrument, side: str, stop: float) -> bool:
        last = self.engine.last_price(inst.symbol)
        return stop >= last if side == "sell" else stop <= last

    def _check_oco(self, inst: Instrument, side: str, qty: float, legs: list) -> None:
        """ocoAllowed, each leg's filters, then SELL: limit > last > stop (BUY: the reverse)."""
        if not self.rules[inst.symbol].oco_allowed:
            raise Rejection("oco_not_allowed", inst.symbol)
        prices = {kind: price for _, kind, price in legs}
        for kind, price in prices.items():
            self._check_filters(inst, side, qty, price if kind == "limit" else None, price if kind == "stop" else None)
        limit, stop, last = prices.get("limit"), prices.get("stop"), self.engine.last_price(inst.symbol)
        if limit is None or stop is None:
            raise Rejection("invalid", "an OCO needs a LIMIT_MAKER and a STOP_LOSS leg")
        ok = limit > last > stop if side == "sell" else limit < last < stop
        if not ok:
            raise Rejection("oco_prices", f"limit {limit}, last {last}, stop {stop}")

    def _new_oco(self, req: Request) -> Response:
        p = req.params
        try:
            inst = self._inst(req)
            legs, types = [], []
            for pos in ("above", "below"):
                vtype = p.get(f"{pos}Type", "")
                if vtype not in ("LIMIT_MAKER", "STOP_LOSS"):
                    raise Rejection("invalid", f"unsupported {pos}Type {vtype}")
                price = p.get(f"{pos}Price") if vtype == "LIMIT_MAKER" else p.get(f"{pos}StopPrice")
                legs.append((p.get(f"{pos}ClientOrderId", f"oco{pos}"), _TYPES_IN[vtype], float(price)))
                types.append(vtype)
            self._check_oco(inst, p.get("side", "").lower(), float(p.get("quantity", 0)), legs)
            orders = self.engine.submit_oco(p.get("side", "").lower(), inst.symbol, float(p.get("quantity", 0)), legs)
        except (Rejection, TypeError) as err:
            return self._error(err if isinstance(err, Rejection) else Rejection("invalid", str(err)))
        list_id = orders[0].oco_group
        list_cid = p.get("listClientOrderId", f"list{list_id}")
        for order, vtype in zip(orders, types, strict=True):
            self.venue_type[order.seq] = vtype
            self.list_of[order.seq] = (list_id, list_cid)
            self.lag_left[order.seq] = self.lookup_lag
        return Response(
            200,
            {
                "orderListId": list_id,
                "contingencyType": "OCO",
                "listStatusType": "EXEC_STARTED",
                "listOrderStatus": "EXECUTING",
                "listClientOrderId": list_cid,
                "transactionTime": _ms(self.clock),
                "symbol": inst.symbol,
                "orders": [
                    {"symbol": inst.symbol, "orderId": o.seq, "clientOrderId": o.client_order_id} for o in orders
                ],
                "orderReports": [self._order_json(o) for o in orders],
            },
        )

    def _lookup(self, req: Request) -> FakeOrder:
        p = req.params
        inst = self._inst(req)
        if "orderId" in p:
            order = self.engine.orders.get(int(p["orderId"]))
        else:
            order = self.engine.find_by_client_id(p.get("origClientOrderId", ""))
        if order is None or order.symbol != inst.symbol:
            raise Rejection("not_found", "Order does not exist.")
        return order

    def _get_order(self, req: Request) -> Response:
        try:
            order = self._lookup(req)
            if self.lag_left.get(order.seq, 0) > 0:  # accepted, not yet visible (lookup_lag)
                self.lag_left[order.seq] -= 1
                raise Rejection("not_found", "Order does not exist.")
            return Response(200, self._order_json(order))
        except Rejection as err:
            if err.kind == "not_found":
                return Response(400, {"code": -2013, "msg": "Order does not exist."})
            return self._error(err)

    def _cancel(self, req: Request) -> Response:
        try:
            order = self._lookup(req)
            self.engine.cancel(order)
        except Rejection as err:
            return self._error(Rejection("not_cancelable", err.message) if err.kind == "not_found" else err)
        return Response(200, self._order_json(order))

    def _open(self, req: Request) -> Response:
        symbol = req.params.get("symbol")
        return Response(
            200,
            [self._order_json(o) for o in self.engine.orders.values() if o.is_open and symbol in (None, o.symbol)],
        )

    def _all_orders(self, req: Request) -> Response:
        """``GET /api/v3/allOrders``: ``orderId`` -> orders from that id on; ``startTime`` /
        ``endTime`` (at most 24 h apart, else -1127) -> orders in that window; neither -> the most
        recent ``limit`` (default 500, at most 1000)."""
        p = req.params
        try:
            inst = self._inst(req)
        except Rejection as err:
            return self._error(err)
        start, end = p.get("startTime"), p.get("endTime")
        if start and end and int(end) - int(start) > 86_400_000:
            return Response(400, {"code": -1127, "msg": "More than 24 hours between startTime and endTime."})
        orders = [
            o for o in self.engine.orders.values() if o.symbol == inst.symbol and self.lag_left.get(o.seq, 0) <= 0
        ]  # lookup_lag: not visible here either
        if "orderId" in p:
            orders = [o for o in orders if o.seq >= int(p["orderId"])]
        if start:
            orders = [o for o in orders if _ms(o.created) >= int(start)]
        if end:
            orders = [o for o in orders if _ms(o.created) <= int(end)]
        limit = min(int(p.get("limit", 500)), 1000)
        cursor = "orderId" in p or bool(start or end)
        orders = orders[:limit] if cursor else orders[-limit:]
        return Response(200, [self._order_json(o) for o in orders])

    def _my_trades(self, req: Request) -> Response:
        p = req.params
        try:
            inst = self._inst(req)
        except Rejection as err:
            return self._error(err)
        trades = [f for f in self.engine.fills if f.symbol == inst.symbol]
        if "orderId" in p:
            trades = [f for f in trades if f.order_seq == int(p["orderId"])]
        if "startTime" in p:
            trades = [f for f in trades if _ms(f.time) >= int(p["startTime"])]
        if "fromId" in p:
            trades = [f for f in trades if f.seq >= int(p["fromId"])]
        trades = trades[: min(int(p.get("limit", 500)), 1000)]
        return Response(
            200,
            [
                {
                    "symbol": f.symbol,
                    "id": f.seq,
                    "orderId": f.order_seq,
                    "orderListId": self.list_of.get(f.order_seq, (-1, ""))[0],
                    "price": _num(f.price),
                    "qty": _num(f.qty),
                    "quoteQty": _num(f.qty * f.price),
                    "commission": _num(f.commission),
                    "commissionAsset": f.commission_asset,
                    "time": _ms(f.time),
                    "isBuyer": f.side == "buy",
                    "isMaker": self.venue_type.get(f.order_seq) in ("LIMIT", "LIMIT_MAKER"),
                    "isBestMatch": True,
                }
                for f in trades
            ],
        )
