"""Alpaca venue client on alpaca-py (the only module that imports ``alpaca``).

Symbols are Alpaca's: ``AAPL`` for equities, ``BTC/USD`` for crypto (positions are reported
with the slash too). Bracket orders are native (``order_class=bracket``; ``oto`` when only
one exit is given). Errors are mapped by HTTP status and Alpaca's JSON ``code``:
429 -> RateLimitedError (Retry-After honoured), 5xx / timeouts / dropped connections ->
TransientVenueError, 401 and 403 (except an order's 40310000 "insufficient buying power or
qty") -> FatalVenueError, 400/403-40310000/422 on an order -> OrderRejectedError.

Orders follow the asset's rules before they are sent (``GET /v2/assets/{symbol}``, cached per
symbol): prices on the grid (US equities $0.01, $0.0001 below $1.00; crypto the asset's
``price_increment``), whole shares unless ``fractionable``, crypto sizes floored to
``min_trade_increment`` and at least ``min_order_size``. An order that cannot meet them is an
OrderRejectedError raised here, without a request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar, cast

import pandas as pd
import requests
from alpaca.common.enums import Sort
from alpaca.common.exceptions import APIError
from alpaca.data.historical import CryptoHistoricalDataClient, StockHistoricalDataClient
from alpaca.data.requests import CryptoBarsRequest, StockBarsRequest
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
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from bot.errors import (
    ConfigError,
    DuplicateOrderError,
    FatalVenueError,
    OrderRejectedError,
    RateLimitedError,
    TransientVenueError,
    VenueError,
)
from bot.instruments import is_crypto
from bot.orders import OrderRequest, Side
from bot.timeframes import to_utc
from bot.venues.alpaca_data import alpaca_timeframe
from bot.venues.base import closed_only, make_bars, timeframe_delta
from bot.venues.credentials import AlpacaCredentials, scrub
from bot.venues.increments import floor_size, round_equity_price, round_price
from bot.venues.retry import (
    RetryPolicy,
    Sleep,
    call_with_retry,
    lookup_over_grace,
    submit_idempotently,
)
from bot.venues.types import Account, Fill, OrderState, OrderStatus

T = TypeVar("T")
_REJECT_CODE = 40310000  # "insufficient buying power" / "insufficient qty": an order problem
_CANCELED = {"canceled", "expired", "replaced"}
_REJECTED = {"rejected", "suspended"}
_CRYPTO_QUOTES = ("USDT", "USDC", "USD", "BTC")
_ORDER_PAGE = 500  # most orders Alpaca lists per request


class _NotFound(VenueError):
    """404 from Alpaca: the caller turns it into None."""


class _TimeoutAdapter(HTTPAdapter):
    """Give every request a timeout: alpaca-py sends none (a hung socket would block forever)."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> Response:
        if timeout is None:
            timeout = self.timeout
        return super().send(request, stream, timeout, verify, cert, proxies)


def _tune(client: Any, timeout: float) -> None:
    """Set a request timeout and switch off the SDK's own 429 retry (3 s fixed sleeps that
    ignore Retry-After); :mod:`bot.venues.retry` does the retrying instead."""
    client._retry = 0
    adapter = _TimeoutAdapter(timeout)
    client._session.mount("http://", adapter)
    client._session.mount("https://", adapter)


def _api_code(err: APIError) -> int | None:
    try:
        return int(json.loads(str(err)).get("code"))
    except (ValueError, TypeError, AttributeError):
        return None


def _retry_after(err: APIError) -> float | None:
    response = err.response
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _status(order: Any) -> OrderStatus:
    status = str(getattr(order.status, "value", order.status))
    if status in _CANCELED:
        return "canceled"
    if status in _REJECTED:
        return "rejected"
    if status == "filled":
        return "filled"
    if status == "partially_filled":
        return "partially_filled"
    return "new"


def _parsed(value: T | dict[str, Any]) -> T:
    """Return an SDK model; alpaca-py returns raw dicts only from clients built with
    ``raw_data=True``, which this module never builds."""
    if isinstance(value, dict):
        raise FatalVenueError("alpaca: the SDK returned raw data where a model was expected")
    return value


def _state(order: Any) -> OrderState:
    status = _status(order)
    filled = float(order.filled_qty or 0)
    avg = float(order.filled_avg_price) if order.filled_avg_price and filled > 0 else None
    return OrderState(
        client_order_id=order.client_order_id,
        venue_id=str(order.id),
        symbol=order.symbol,
        side=cast(Side, str(getattr(order.side, "value", order.side))),  # OrderSide: buy / sell
        qty=float(order.qty or 0),
        filled_qty=filled,
        avg_fill_price=avg,
        status=status,
        created=to_utc(order.created_at),
        updated=to_utc(order.updated_at),
        legs=tuple(_state(leg) for leg in (getattr(order, "legs", None) or ())),
        limit_price=float(order.limit_price) if getattr(order, "limit_price", None) else None,
        stop_price=float(order.stop_price) if getattr(order, "stop_price", None) else None,
    )


def _value(x: Any) -> str:
    """Return an enum's value (or the plain string)."""
    return str(getattr(x, "value", x))


def _with_slash(symbol: str) -> str:
    for quote in _CRYPTO_QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return f"{symbol[: -len(quote)]}/{quote}"
    return symbol


def _check_shortable(symbol: str, asset: Any, crypto: bool, fractional: bool) -> None:
    """Raise ConfigError unless Alpaca lets a strategy that sells short open shorts in ``symbol``.

    Alpaca opens short positions only in easy-to-borrow securities ("Alpaca currently only
    supports opening short positions in easy-to-borrow (ETB) securities",
    https://alpaca.markets/support/short-selling-fees), i.e. assets marked ``shortable`` and
    ``easy_to_borrow`` (https://docs.alpaca.markets/reference/get-v2-assets-1); crypto cannot be
    sold short; fractional orders cannot open a short (whole shares only).
    """
    if crypto:
        raise ConfigError(
            "data.symbols",
            f"{symbol}: the strategy sells short, and Alpaca does not "
            "short crypto (asset class crypto, shortable=false)",
        )
    if not asset.shortable or not asset.easy_to_borrow:
        raise ConfigError(
            "data.symbols",
            f"{symbol} cannot be sold short at alpaca (asset shortable="
            f"{str(bool(asset.shortable)).lower()}, easy_to_borrow="
            f"{str(bool(asset.easy_to_borrow)).lower()}) and the strategy "
            "sells short",
        )
    if fractional:
        raise ConfigError(
            "broker.fractional",
            f"{symbol}: the strategy sells short and Alpaca sells short "
            "whole shares only; set broker.fractional: false",
        )


class AlpacaVenue:
    """:class:`~bot.venues.base.VenueClient` for Alpaca (paper or live).

    ``trading_url`` / ``data_url`` override the SDK's base URLs (tests point them at a fake);
    ``timeout`` is per HTTP request in seconds; ``feed`` is the stock data feed (``iex`` for
    free accounts, None for the account default); ``sleep`` is injectable for tests.
    """

    name = "alpaca"

    def __init__(
        self,
        credentials: AlpacaCredentials,
        *,
        paper: bool = True,
        trading_url: str | None = None,
        data_url: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        feed: str | None = None,
    ):
        self._creds = credentials
        key, secret = (
            credentials.key_id.get_secret_value(),
            credentials.secret_key.get_secret_value(),
        )
        self._trading = TradingClient(key, secret, paper=paper, url_override=trading_url)
        self._stocks = StockHistoricalDataClient(key, secret, url_override=data_url)
        self._crypto = CryptoHistoricalDataClient(key, secret, url_override=data_url)
        for client in (self._trading, self._stocks, self._crypto):
            _tune(client, timeout)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._feed = feed
        self._known: dict[str, tuple[str, str]] = {}  # venue id -> (client id, symbol)
        self._assets: dict[str, Any] = {}  # symbol -> alpaca-py Asset (trading rules)

    # ---- error translation ------------------------------------------------------------
    def _call(self, op: str, fn: Callable[[], T]) -> T:
        """Run one SDK call, translating its errors into :mod:`bot.errors` types."""
        try:
            return fn()
        except APIError as err:
            raise self._translate(op, err) from err
        except (requests.Timeout, requests.ConnectionError) as err:
            raise TransientVenueError(f"alpaca {op}: {type(err).__name__} (no answer)") from err
        except requests.RequestException as err:
            raise FatalVenueError(f"alpaca {op}: {type(err).__name__}") from err

    def _translate(self, op: str, err: APIError) -> VenueError:
        status, code = err.status_code, _api_code(err)
        text = scrub(
            f"alpaca {op}: HTTP {status} code {code}: {str(err)[:300]}",
            self._creds.key_id,
            self._creds.secret_key,
        )
        if status == 429:
            return RateLimitedError(text, retry_after=_retry_after(err))
        if status is not None and (status >= 500 or status == 408):
            return TransientVenueError(text)
        if op == "submit" and status == 422 and "must be unique" in str(err):
            return DuplicateOrderError(text)  # Alpaca names no code of its own for a reused id
        if op == "submit" and (status in (400, 422) or (status == 403 and code == _REJECT_CODE)):
            return OrderRejectedError(text)
        if status == 404 or (op == "cancel" and status == 422):  # 422: no longer cancelable
            return _NotFound(text)
        return FatalVenueError(text)

    def _retrying(self, op: str, fn: Callable[[], T]) -> T:
        return call_with_retry(lambda: self._call(op, fn), policy=self._retry, sleep=self._sleep, what=f"alpaca {op}")

    # ---- VenueClient --------------------------------------------------------------------
    def clock(self) -> pd.Timestamp:
        """Return Alpaca's clock (``/v2/clock``) in UTC."""
        return to_utc(_parsed(self._retrying("clock", self._trading.get_clock)).timestamp)

    def get_bars(
        self,
        symbol: str,
        timeframe: str,
        start: pd.Timestamp | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Return closed bars (UTC open-time index) from ``start`` / the last ``limit``."""
        delta = timeframe_delta(timeframe)
        now = self.clock()
        latest_only = start is None
        if start is None:  # generous window; sort=desc + limit returns just the newest bars
            start = now - delta * (limit or 1000) * 7 - pd.Timedelta(days=5)
        params: dict[str, Any] = {
            "symbol_or_symbols": symbol,
            "start": to_utc(start).to_pydatetime(),
            "timeframe": alpaca_timeframe(timeframe),  # one mapping for live and historical bars
        }
        if latest_only and limit:
            params.update(limit=limit + 1, sort=Sort.DESC)
        if is_crypto(symbol):
            fetch = lambda: self._crypto.get_crypto_bars(CryptoBarsRequest(**params))  # noqa: E731
        else:
            fetch = lambda: self._stocks.get_stock_bars(StockBarsRequest(**params, feed=self._feed))  # noqa: E731
        barset = self._retrying("bars", fetch)
        rows = [(b.timestamp, b.open, b.high, b.low, b.close, b.volume) for b in _parsed(barset).data.get(symbol, [])]
        return closed_only(make_bars(rows), timeframe, now, limit)

    def account(self) -> Account:
        """Return cash and equity from ``/v2/account``."""
        acct = _parsed(self._retrying("account", self._trading.get_account))
        return Account(
            cash=float(acct.cash or 0),
            equity=float(acct.equity or 0),
            currency=acct.currency or "USD",
        )

    def positions(self) -> dict[str, float]:
        """Return signed position sizes from ``/v2/positions`` (shorts negative)."""
        out = {}
        for pos in _parsed(self._retrying("positions", self._trading.get_all_positions)):
            qty = float(pos.qty)
            if str(getattr(pos.side, "value", pos.side)) == "short" and qty > 0:
                qty = -qty
            crypto = str(getattr(pos.asset_class, "value", pos.asset_class)) == "crypto"
            out[_with_slash(pos.symbol) if crypto else pos.symbol] = qty
        return {s: q for s, q in out.items() if q != 0}

    def submit_order(self, req: OrderRequest) -> OrderState:
        """Place ``req`` (bracket natively); never twice, whatever fails in between."""
        order = self._sdk_request(req)
        state = submit_idempotently(
            lambda: _state(self._call("submit", lambda: self._trading.submit_order(order))),
            lambda: self._lookup(req.client_order_id),
            policy=self._retry,
            sleep=self._sleep,
            what=f"alpaca submit {req.client_order_id}",
        )
        self._known[state.venue_id] = (state.client_order_id, state.symbol)
        return state

    def resolve_order(
        self, client_order_id: str, symbol: str | None = None, since: pd.Timestamp | None = None
    ) -> OrderState | None:
        """Find an order whose send outcome is unknown: ``lookup_tries`` lookups, spaced out.

        Alpaca refuses a reused client order id for good ("client_order_id must be unique"),
        so a resend after this returns None cannot create a second order.
        """
        return lookup_over_grace(lambda: self.get_order(client_order_id), policy=self._retry, sleep=self._sleep)

    def get_order(self, client_order_id: str, symbol: str | None = None) -> OrderState | None:
        """Return the order with this client id (``/v2/orders:by_client_order_id``)."""
        return call_with_retry(
            lambda: self._lookup(client_order_id),
            policy=self._retry,
            sleep=self._sleep,
            what="alpaca get_order",
        )

    def cancel_order(self, client_order_id: str, symbol: str | None = None) -> OrderState | None:
        """Cancel an open order (bracket legs go with their parent); return its new state."""
        state = self.get_order(client_order_id)
        if state is None or not state.is_open:
            return state
        try:
            self._retrying("cancel", lambda: self._trading.cancel_order_by_id(state.venue_id))
        except _NotFound:
            pass  # filled or gone meanwhile: report the state below
        return self.get_order(client_order_id)

    def open_orders(self) -> list[OrderState]:
        """Return open orders, bracket legs listed on their own."""
        flt = GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=500, nested=False)
        orders = self._retrying("open_orders", lambda: self._trading.get_orders(flt))
        return [_state(o) for o in orders]

    def orders(self, since: pd.Timestamp | None = None) -> list[OrderState]:
        """Return every order submitted at or after ``since`` (``/v2/orders?status=all``), legs flat.

        Pages of 500 in ascending submission time; ``after`` is exclusive, so each next page
        starts 1 ms before the last order seen (orders sharing a time are not skipped) and
        repeats are dropped by order id.
        """
        start = None if since is None else to_utc(since) - pd.Timedelta(1, "ms")
        seen: dict[str, OrderState] = {}
        while True:
            flt = GetOrdersRequest(
                status=QueryOrderStatus.ALL,
                limit=_ORDER_PAGE,
                nested=False,
                direction=Sort.ASC,
                after=None if start is None else start.to_pydatetime(),
            )
            orders = self._retrying("orders", partial(self._trading.get_orders, flt))
            page = [_state(o) for o in orders]
            fresh = [o for o in page if o.venue_id not in seen]
            seen.update((o.venue_id, o) for o in fresh)
            if len(page) < _ORDER_PAGE or not fresh:
                break
            start = max(o.created for o in page if o.created is not None) - pd.Timedelta(1, "ms")
        out = [o for o in seen.values() if since is None or o.created is None or o.created >= to_utc(since)]
        return sorted(out, key=lambda o: (o.created or pd.Timestamp(0, tz="UTC"), o.venue_id))

    def fills(self, since: pd.Timestamp | None = None) -> list[Fill]:
        """Return executions from the account's FILL activities."""
        params: dict[str, Any] = {"direction": "asc", "page_size": 100}
        if since is not None:  # Alpaca's "after" is exclusive; ours is inclusive
            params["after"] = (to_utc(since) - pd.Timedelta(1, "ms")).isoformat()
        out: list[Fill] = []
        while True:
            page = self._retrying("fills", lambda: self._trading.get("/account/activities/FILL", dict(params)))
            out += [self._fill(a) for a in page]
            if len(page) < params["page_size"]:
                return [f for f in out if since is None or f.time >= to_utc(since)]
            params["page_token"] = page[-1]["id"]

    def sync(self) -> None:
        """Nothing to do: Alpaca runs bracket exits itself."""

    def check_tradable(
        self,
        symbols: list[str],
        *,
        stop_loss: bool,
        take_profit: bool,
        fractional: bool,
        shorts: bool = False,
    ) -> None:
        """Raise ConfigError (key path) if an asset is unknown, not tradable or cannot carry
        the configured exits or fractional sizes, or (``shorts``) cannot be sold short (read
        from ``/v2/assets``, not from names)."""
        for symbol in symbols:
            try:
                asset = self._asset(symbol)
            except _NotFound:
                raise ConfigError("data.symbols", f"{symbol} is not an asset at alpaca") from None
            if not asset.tradable or _value(asset.status) != "active":
                raise ConfigError("data.symbols", f"{symbol} is not tradable at alpaca")
            crypto = _value(asset.asset_class) == "crypto"
            if (stop_loss or take_profit) and crypto:
                key = "risk.stop_loss" if stop_loss else "risk.take_profit"
                raise ConfigError(key, f"{symbol}: Alpaca takes bracket orders for equities only (asset class crypto)")
            if fractional and not crypto and not asset.fractionable:
                raise ConfigError(
                    "broker.fractional",
                    f"{symbol} is not fractionable at alpaca; set broker.fractional: false",
                )
            if shorts:
                _check_shortable(symbol, asset, crypto, fractional)

    # ---- helpers --------------------------------------------------------------------
    def _lookup(self, client_order_id: str) -> OrderState | None:
        try:
            order = self._call("get_order", lambda: self._trading.get_order_by_client_id(client_order_id))
        except _NotFound:
            return None
        return _state(order)

    def _asset(self, symbol: str) -> Any:
        """Return the asset (trading rules) of ``symbol``, read once per symbol."""
        if symbol not in self._assets:
            self._assets[symbol] = self._retrying("asset", lambda: self._trading.get_asset(symbol))
        return self._assets[symbol]

    def _order_asset(self, req: OrderRequest) -> Any:
        try:
            asset = self._asset(req.symbol)
        except _NotFound:
            raise OrderRejectedError(f"alpaca submit {req.client_order_id}: unknown asset {req.symbol}") from None
        if not asset.tradable:
            raise OrderRejectedError(f"alpaca submit {req.client_order_id}: {req.symbol} is not tradable")
        return asset

    def _qty(self, req: OrderRequest, asset: Any) -> float:
        """Return ``req.qty`` on the asset's size grid; OrderRejectedError if nothing is left."""
        qty, where = float(req.qty), f"alpaca submit {req.client_order_id}"
        if _value(asset.asset_class) == "crypto":
            qty = floor_size(qty, asset.min_trade_increment)
            least = float(asset.min_order_size or 0)
            if qty <= 0 or qty < least:
                raise OrderRejectedError(
                    f"{where}: qty {req.qty:g} {req.symbol} is below the asset's min_order_size {least:g}"
                )
            return qty
        if not asset.fractionable:
            qty = floor_size(qty, 1.0)
        if qty <= 0:
            raise OrderRejectedError(
                f"{where}: qty {req.qty:g} {req.symbol} is less than one share and the asset is not fractionable"
            )
        return qty

    @staticmethod
    def _price(price: float | None, asset: Any) -> float | None:
        """Return ``price`` on the asset's grid (equities: penny / sub-$1 rule; crypto: its increment)."""
        if price is None:
            return None
        if _value(asset.asset_class) == "crypto":
            return round_price(price, asset.price_increment)
        return round_equity_price(price)

    def _sdk_request(self, req: OrderRequest) -> Any:
        asset = self._order_asset(req)
        crypto = _value(asset.asset_class) == "crypto"
        qty = self._qty(req, asset)
        fractional = not qty.is_integer()
        tif = TimeInForce.DAY if (fractional and not crypto) else TimeInForce.GTC
        fields: dict[str, Any] = dict(
            symbol=req.symbol,
            qty=qty,
            side=OrderSide(req.side),
            time_in_force=tif,
            client_order_id=req.client_order_id,
        )
        if req.is_bracket:
            both = req.take_profit is not None and req.stop_loss is not None
            fields["order_class"] = OrderClass.BRACKET if both else OrderClass.OTO
            if req.take_profit is not None:
                fields["take_profit"] = TakeProfitRequest(limit_price=self._price(req.take_profit, asset))
            if req.stop_loss is not None:
                fields["stop_loss"] = StopLossRequest(stop_price=self._price(req.stop_loss, asset))
        try:
            if req.type == "limit":
                return LimitOrderRequest(**fields, limit_price=self._price(req.limit_price, asset))
            if req.type == "stop":
                return StopOrderRequest(**fields, stop_price=self._price(req.stop_price, asset))
            return MarketOrderRequest(**fields)
        except ValueError as err:
            raise OrderRejectedError(f"alpaca submit {req.client_order_id}: invalid order: {err}") from err

    def _fill(self, act: dict) -> Fill:
        venue_id = str(act["order_id"])
        if venue_id not in self._known:
            order = _parsed(self._retrying("get_order", lambda: self._trading.get_order_by_id(venue_id)))
            if order.symbol is None:  # only multi-leg option orders have none; we never place them
                raise FatalVenueError(f"alpaca: order {venue_id} of a fill has no symbol")
            self._known[venue_id] = (order.client_order_id, order.symbol)
        cid, symbol = self._known[venue_id]
        return Fill(
            client_order_id=cid,
            venue_order_id=venue_id,
            trade_id=str(act["id"]),
            symbol=symbol,
            side=act["side"],
            qty=float(act["qty"]),
            price=float(act["price"]),
            commission=0.0,
            commission_asset=None,
            time=to_utc(act["transaction_time"]),
        )
