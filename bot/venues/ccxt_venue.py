"""CCXT venue client for spot exchanges (the only module that imports ``ccxt``).

Symbols are CCXT unified symbols (``BTC/USDT``); ``symbols`` lists those the bot trades:
positions are the venue's balances of their base assets (after fees: a spot buy receives
``qty * (1 - fee)``), and order look-ups, open orders and fills are read per symbol.

Brackets are emulated client-side (see :mod:`bot.venues.ccxt_brackets`): the entry is sent
alone and :meth:`CcxtVenue.sync` (also run by :meth:`CcxtVenue.open_orders`) places the exits,
as one OCO order list, once the entry has filled.

Errors: DDoSProtection/RateLimitExceeded -> RateLimitedError (Retry-After from the response
headers), other OperationFailed (network, timeout, 5xx, unavailable) -> TransientVenueError,
AuthenticationError -> FatalVenueError, InvalidOrder/InsufficientFunds/BadRequest on an order
-> OrderRejectedError, anything else -> FatalVenueError.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import ccxt
import pandas as pd
from loguru import logger

from bot.errors import (
    ConfigError,
    DuplicateOrderError,
    FatalVenueError,
    OrderRejectedError,
    OutcomeUnknownError,
    RateLimitedError,
    TransientVenueError,
    VenueError,
)
from bot.orders import OrderRequest, Side
from bot.timeframes import to_utc
from bot.venues.base import closed_only, make_bars, timeframe_delta
from bot.venues.ccxt_brackets import BracketExits, has_oco_endpoint, oco_allowed
from bot.venues.credentials import CcxtCredentials, scrub
from bot.venues.retry import RetryPolicy, Sleep, call_with_retry, submit_idempotently
from bot.venues.types import Account, Fill, OrderState, OrderStatus

T = TypeVar("T")
DEFAULT_OPTIONS = {  # keep ccxt on the spot endpoints (no margin/futures/currency calls)
    "defaultType": "spot",
    "fetchCurrencies": False,
    "fetchMargins": False,
    "fetchMarkets": {"types": ["spot"]},
    "warnOnFetchOpenOrdersWithoutSymbol": False,
}
_ID_OK = re.compile(r"[.A-Za-z0-9:/_-]{1,36}")
_STATUS: dict[str, OrderStatus] = {
    "closed": "filled",
    "canceled": "canceled",
    "expired": "canceled",
    "rejected": "rejected",
}
_PAGE = 1000
_DAY_MS = 86_400_000


class _NotFound(VenueError):
    """The exchange does not know the order: the caller turns it into None."""


def _duplicate(err: Exception) -> bool:
    """Return True if the exchange refused an order for reusing an open order's client id.

    ccxt maps it to DuplicateOrderId on some exchanges; Binance answers -2010 "Duplicate order
    sent." (the same code as insufficient balance), so its message is the only tell.
    """
    return isinstance(err, ccxt.DuplicateOrderId) or "Duplicate order sent" in str(err)


def venue_client_id(client_order_id: str) -> str:
    """Return an id the exchange accepts (<= 36 safe chars); long ids become a stable hash."""
    if _ID_OK.fullmatch(client_order_id):
        return client_order_id
    return "mp-" + hashlib.sha256(client_order_id.encode()).hexdigest()[:32]


def exchange_has_oco(exchange: str) -> bool:
    """Return True if ccxt's ``exchange`` class has an OCO order-list endpoint (no network)."""
    cls = getattr(ccxt, exchange, None)
    return isinstance(cls, type) and issubclass(cls, ccxt.Exchange) and has_oco_endpoint(cls)


def override_origins(urls: Any, api_url: str) -> Any:
    """Return ``urls`` (ccxt's ``urls['api']``) with every URL's scheme+host set to ``api_url``."""
    base = api_url.rstrip("/")
    if isinstance(urls, str):
        parts = urlsplit(urls)
        return base + parts.path + (f"?{parts.query}" if parts.query else "")
    if isinstance(urls, dict):
        return {k: override_origins(v, api_url) for k, v in urls.items()}
    return urls


class CcxtVenue(BracketExits):
    """:class:`~bot.venues.base.VenueClient` for a CCXT spot exchange.

    ``exchange`` is a ccxt id (``binance``, ``kraken``, ...); ``sandbox`` switches to the
    exchange's testnet; ``api_url`` replaces the origin of every API URL (tests point it at a
    fake); ``timeout`` is per HTTP request in seconds; ``sleep`` is injectable for tests.
    """

    def __init__(
        self,
        exchange: str,
        credentials: CcxtCredentials | None,
        *,
        symbols: Sequence[str],
        sandbox: bool = False,
        api_url: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        enable_rate_limit: bool = True,
        options: Mapping[str, Any] | None = None,
    ):
        if not symbols:
            raise ConfigError("broker.ccxt.symbols", "list at least one symbol to trade")
        self.name = exchange
        self.symbols = list(symbols)
        self._creds = credentials
        self._ex = _build_exchange(exchange, credentials, sandbox, api_url, timeout, enable_rate_limit, options)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._loaded = False
        self._original: dict[str, str] = {}  # venue client id -> our client id
        self._symbol_of: dict[str, str] = {}  # our client id -> symbol
        self._send_times: dict[str, float] = {}  # our client id -> local monotonic time of its last send
        self._brackets: dict[str, OrderRequest] = {}  # entry id -> request awaiting its fill
        self._order_cid: dict[str, str] = {}  # venue order id -> our client id

    # ---- error translation ------------------------------------------------------------
    def _call(self, op: str, fn: Callable[[], T]) -> T:
        """Run one ccxt call, translating its errors into :mod:`bot.errors` types."""
        try:
            return fn()
        except ccxt.BaseError as err:
            raise self._translate(op, err) from err

    def _translate(self, op: str, err: Exception) -> VenueError:
        creds = self._creds
        secrets = (creds.api_key, creds.secret, creds.password) if creds else ()
        text = scrub(f"{self.name} {op}: {type(err).__name__}: {str(err)[:300]}", *secrets)
        if isinstance(err, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
            return RateLimitedError(text, retry_after=self._retry_after())
        if isinstance(err, ccxt.AuthenticationError):
            return FatalVenueError(text)
        if isinstance(err, ccxt.OrderNotFound):
            return _NotFound(text)
        if op == "submit" and _duplicate(err):
            return DuplicateOrderError(text)
        if op in ("submit", "bracket") and isinstance(  # "bracket": sizing a filled entry's exits
            err, ccxt.InvalidOrder | ccxt.InsufficientFunds | ccxt.BadRequest
        ):
            return OrderRejectedError(text)
        if isinstance(err, ccxt.OperationFailed):
            return TransientVenueError(text)
        return FatalVenueError(text)

    def _retry_after(self) -> float | None:
        headers = getattr(self._ex, "last_response_headers", None) or {}
        try:
            value = headers.get("Retry-After")
            return float(value) if value is not None else None
        except (ValueError, AttributeError):
            return None

    def _retrying(self, op: str, fn: Callable[[], T]) -> T:
        return call_with_retry(
            lambda: self._call(op, fn),
            policy=self._retry,
            sleep=self._sleep,
            what=f"{self.name} {op}",
        )

    def _market(self, symbol: str, for_order: bool = False) -> dict:
        if not self._loaded:
            self._retrying("load_markets", self._ex.load_markets)
            self._loaded = True
        try:
            return self._ex.market(symbol)
        except ccxt.BadSymbol as err:
            error = OrderRejectedError if for_order else FatalVenueError
            raise error(f"{self.name}: unknown symbol {symbol}") from err

    # ---- VenueClient --------------------------------------------------------------------
    def clock(self) -> pd.Timestamp:
        """Return the exchange's server time (UTC)."""
        if not self._ex.has.get("fetchTime"):
            logger.warning("{} has no server time endpoint; using the local clock", self.name)
            return to_utc(self._ex.milliseconds())
        return to_utc(self._retrying("clock", self._ex.fetch_time))

    def get_bars(
        self,
        symbol: str,
        timeframe: str,
        start: pd.Timestamp | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """Return closed OHLCV bars (UTC open-time index) from ``start`` / the last ``limit``."""
        self._market(symbol)
        delta, now = timeframe_delta(timeframe), self.clock()
        if start is None and limit and limit < _PAGE:
            page = self._retrying("bars", lambda: self._ex.fetch_ohlcv(symbol, timeframe, limit=limit + 1))
            rows = page
        else:
            since = start if start is not None else now - delta * ((limit or 500) + 1)
            rows = self._bars_from(symbol, timeframe, to_utc(since), delta, now)
        bars = make_bars([(to_utc(r[0]), *r[1:6]) for r in rows])
        return closed_only(bars, timeframe, now, limit)

    def account(self) -> Account:
        """Return quote-currency cash and equity (holdings marked at the last price)."""
        quote = self._market(self.symbols[0])["quote"]
        balance = self._retrying("balance", self._ex.fetch_balance)
        cash = float((balance.get(quote) or {}).get("total") or 0.0)
        equity = cash
        for symbol, qty in self._holdings(balance).items():
            if self._market(symbol)["quote"] == quote:
                ticker = self._retrying("ticker", partial(self._ex.fetch_ticker, symbol))
                equity += qty * float(ticker["last"])
        return Account(cash=cash, equity=equity, currency=quote)

    def positions(self) -> dict[str, float]:
        """Return the venue's base-asset balances of the traded symbols (non-zero only)."""
        return self._holdings(self._retrying("balance", self._ex.fetch_balance))

    def submit_order(self, req: OrderRequest) -> OrderState:
        """Send ``req`` at most once; register its exits (see the module doc) if a bracket."""
        two_exits = req.take_profit is not None and req.stop_loss is not None
        if two_exits and not has_oco_endpoint(self._ex):
            raise OrderRejectedError(f"{self.name}: bracket with two exits needs an OCO order list")
        market = self._market(req.symbol, for_order=True)
        if two_exits and not oco_allowed(self._ex, market):
            raise OrderRejectedError(
                f"{self.name} submit {req.client_order_id}: {req.symbol} takes no OCO order list "
                f"(market info ocoAllowed={market.get('info', {}).get('ocoAllowed')}), needed for two exits"
            )
        kind, price = "market", None
        params: dict[str, Any] = {"clientOrderId": venue_client_id(req.client_order_id)}
        if req.type == "limit":
            kind, price = "limit", self.price_on_tick(req.symbol, req.limit_price)
        elif req.type == "stop":
            params["triggerPrice"] = self.price_on_tick(req.symbol, req.stop_price)
        exits = [p for p in (req.take_profit, req.stop_loss) if p is not None]
        amount = self.checked_amount(
            market, req.qty, [price or params.get("triggerPrice")], exits, f"submit {req.client_order_id}"
        )
        self._remember(req.client_order_id, req.symbol)
        t0 = time.monotonic()  # when the send began: trades from then on may be this order's

        def send() -> OrderState:
            created = self._attempt(
                [req.client_order_id],
                lambda: self._call(
                    "submit",
                    lambda: self._ex.create_order(market["symbol"], kind, req.side, amount, price, dict(params)),
                ),
            )
            return self._state(created, req.symbol)

        state = submit_idempotently(
            send,
            lambda: self._lookup(req.client_order_id, req.symbol),
            policy=self._retry,
            sleep=self._sleep,
            what=f"{self.name} submit {req.client_order_id}",
            resolve=lambda: self.resolve_order(req.client_order_id, req.symbol, self._sent_at(t0)),
        )
        if req.is_bracket:
            self._brackets[req.client_order_id] = req
        return state

    def get_order(self, client_order_id: str, symbol: str | None = None) -> OrderState | None:
        """Return the order with this client id, searching the traded symbols if needed."""
        candidates = (
            [symbol]
            if symbol
            else ([self._symbol_of[client_order_id]] if client_order_id in self._symbol_of else self.symbols)
        )
        for sym in candidates:
            state = call_with_retry(
                partial(self._lookup, client_order_id, sym),
                policy=self._retry,
                sleep=self._sleep,
                what=f"{self.name} get_order",
            )
            if state is not None:
                return state
        return None

    def resolve_order(
        self, client_order_id: str, symbol: str | None = None, since: pd.Timestamp | int | None = None
    ) -> OrderState | None:
        """Find an order whose send outcome is unknown; None only if the venue surely lacks it.

        Binance answers -2013 "Order does not exist" for a while after accepting an order, and
        a filled order's client id may be reused, so a single failed lookup proves nothing. The
        order is looked up by client id and among the open orders ``lookup_tries`` times,
        ``lookup_interval`` s apart; then among all the symbol's orders since ``since`` (the send;
        Binance ``allOrders``, which also lists an order cancelled meanwhile); then every trade on
        the symbol since ``since`` must belong to a known order. A trade of an order that cannot be shown yet raises
        :class:`~bot.errors.OutcomeUnknownError`: the caller must not resend.
        """
        sym = symbol or self._symbol_of.get(client_order_id) or self.symbols[0]
        vid = venue_client_id(client_order_id)
        policy = self._retry
        for n in range(policy.lookup_tries):
            state = self._retrying_lookup(client_order_id, sym)
            if state is None:
                opened = self._retrying("open_orders", lambda: self._ex.fetch_open_orders(sym))
                found = [o for o in opened if o.get("clientOrderId") == vid]
                state = self._state(found[0], sym) if found else None
            if state is not None:
                return state
            if n + 1 < policy.lookup_tries:
                self._sleep(policy.lookup_interval)
        since_ms = since if isinstance(since, int) or since is None else int(to_utc(since).value // 1_000_000)
        listed = self._retrying("orders", lambda: self._ex.fetch_orders(sym, since_ms))
        found = [o for o in listed if o.get("clientOrderId") == vid]  # any state: a cancelled one too
        if found:
            return self._state(found[-1], sym)
        for trade in self._trades(sym, since_ms):
            oid = str(trade["order"])
            if oid in self._order_cid:
                continue
            try:
                order = self._call("get_order", partial(self._ex.fetch_order, oid, sym))
            except _NotFound:
                raise OutcomeUnknownError(
                    f"{self.name}: trade {trade['id']} on {sym} belongs to order {oid}, which the "
                    f"venue cannot show yet; {client_order_id} may be that order: not resending"
                ) from None
            if self._state(order, sym).client_order_id == client_order_id:
                return self._state(order, sym)
        window = self._may_still_land(client_order_id)
        if window is not None:
            raise OutcomeUnknownError(
                f"{self.name}: {client_order_id} not found, but it was sent less than the recvWindow "
                f"({window:g} s) ago and may still be executed: not resending"
            )
        return None

    def _retrying_lookup(self, client_order_id: str, symbol: str) -> OrderState | None:
        return call_with_retry(
            lambda: self._lookup(client_order_id, symbol),
            policy=self._retry,
            sleep=self._sleep,
            what=f"{self.name} get_order",
        )

    def _sent_at(self, t0: float) -> int:
        """Return, in venue ms, a time safely before a send made at local monotonic ``t0``."""
        elapsed_ms = int((time.monotonic() - t0) * 1000)
        return int(self.clock().value // 1_000_000) - elapsed_ms - 60_000

    def cancel_order(self, client_order_id: str, symbol: str | None = None) -> OrderState | None:
        """Cancel an open order (an OCO exit cancels its sibling); return its new state."""
        state = self.get_order(client_order_id, symbol)
        if state is None or not state.is_open:
            return state
        if state.filled_qty == 0:
            self._brackets.pop(client_order_id, None)
        try:
            self._retrying("cancel", lambda: self._ex.cancel_order(state.venue_id, state.symbol))
        except _NotFound:
            pass  # filled or gone meanwhile: report the state below
        return self.get_order(client_order_id, state.symbol)

    def open_orders(self) -> list[OrderState]:
        """Arm pending bracket exits, then return every open order of the traded symbols."""
        self.sync()
        out = []
        for sym in self.symbols:
            orders = self._retrying("open_orders", partial(self._ex.fetch_open_orders, sym))
            out += [self._state(o, sym) for o in orders]
        return out

    def orders(self, since: pd.Timestamp | None = None) -> list[OrderState]:
        """Return every order of the traded symbols created at or after ``since`` (``fetch_orders``:
        Binance ``allOrders``), OCO exits included, oldest first."""
        since_ms = int(to_utc(since).value // 1_000_000) if since is not None else None
        out: list[OrderState] = []
        for sym in self.symbols:
            self._market(sym)
            out += [self._state(o, sym) for o in self._all_orders(sym, since_ms)]
        out = [o for o in out if since is None or o.created is None or o.created >= to_utc(since)]
        return sorted(out, key=lambda o: (o.created or pd.Timestamp(0, tz="UTC"), o.venue_id))

    def fills(self, since: pd.Timestamp | None = None) -> list[Fill]:
        """Return executions of the traded symbols (``myTrades``) at or after ``since``."""
        since_ms = int(to_utc(since).value // 1_000_000) if since is not None else None
        out: list[Fill] = []
        for sym in self.symbols:
            out += [self._fill(t, sym) for t in self._trades(sym, since_ms)]
        return sorted(out, key=lambda f: (f.time, f.trade_id))

    # ---- trading rules (read from the market) ---------------------------------------------
    def price_on_tick(self, symbol: str, price: float | None) -> float | None:
        """Return ``price`` on the market's tick (``price_to_precision``, nearest)."""
        if price is None:
            return None
        return float(self._call("submit", lambda: self._ex.price_to_precision(symbol, price)))

    def checked_amount(self, market: dict, qty: float, prices: list, exits: list, what: str) -> float:
        """Return ``qty`` on the market's amount step, or raise OrderRejectedError (before any
        request) if it is below ``limits.amount.min`` or its notional below ``limits.cost.min``.

        ``prices`` value the order (None: a market order, valued at the lower exit price if any,
        which lies below the market, else at the last price); ``exits`` value its bracket exits.
        """
        symbol, limits = market["symbol"], market.get("limits") or {}
        try:
            amount = float(self._ex.amount_to_precision(symbol, qty))
        except ccxt.InvalidOrder:
            amount = 0.0
        least = (limits.get("amount") or {}).get("min") or 0.0
        if amount <= 0 or amount < least:
            raise OrderRejectedError(
                f"{self.name} {what}: amount {qty:g} {symbol} is below the market minimum "
                f"{least:g} (limits.amount.min) or its step"
            )
        min_cost = (limits.get("cost") or {}).get("min")
        if not min_cost:
            return amount
        known = [p for p in prices if p]
        values = known + list(exits) if known else ([min(exits)] + list(exits) if exits else [self._last_price(symbol)])
        for value in values:
            if amount * value < min_cost:
                raise OrderRejectedError(
                    f"{self.name} {what}: notional {amount * value:.8g} {market.get('quote', '')} "
                    f"({amount:g} {symbol} at {value:g}) is below the market minimum {min_cost:g} "
                    "(limits.cost.min)"
                )
        return amount

    def _last_price(self, symbol: str) -> float:
        ticker = self._retrying("ticker", lambda: self._ex.fetch_ticker(symbol))
        return float(ticker["last"])

    def check_tradable(
        self,
        symbols: list[str],
        *,
        stop_loss: bool,
        take_profit: bool,
        fractional: bool,
        shorts: bool = False,
    ) -> None:
        """Raise ConfigError (key path) if a symbol is not an active market here, its market
        cannot carry stop-loss + take-profit (no OCO), or (``shorts``: the strategy may enter
        short) it is a spot market; read from the exchange's market info."""
        for symbol in symbols:
            try:
                market = self._market(symbol)
            except FatalVenueError:
                raise ConfigError("data.symbols", f"{symbol} is not a market at {self.name}") from None
            if market.get("active") is False:
                raise ConfigError("data.symbols", f"{symbol} is not tradable at {self.name}")
            if shorts and (market.get("spot") or market.get("type") == "spot"):
                raise ConfigError(
                    "strategy.name",
                    f"the strategy sells short, but {symbol} is a spot market at {self.name} (market info "
                    f"spot=true, margin={str(bool(market.get('margin'))).lower()}): a spot account cannot "
                    "sell what it does not hold, and this adapter trades no margin account",
                )
            if stop_loss and take_profit and not oco_allowed(self._ex, market):
                flag = (market.get("info") or {}).get("ocoAllowed")
                raise ConfigError(
                    "risk.stop_loss",
                    f"{symbol}: the exchange does not allow OCO orders (market info ocoAllowed="
                    f"{str(flag).lower()}), needed for stop_loss + take_profit",
                )

    # ---- helpers --------------------------------------------------------------------
    def _remember(self, client_order_id: str, symbol: str) -> str:
        """Map the id for the venue (called right before each send of it: the send time is kept)."""
        vid = venue_client_id(client_order_id)
        self._original[vid] = client_order_id
        self._symbol_of[client_order_id] = symbol
        return vid

    def _attempt(self, ids: Sequence[str], fn: Callable[[], T]) -> T:
        """Run one send of the orders ``ids``. A send that may have been processed (timeout,
        dropped connection, 5xx: Binance calls the outcome of a 5xx UNKNOWN) is remembered for
        :meth:`_may_still_land`; a 429 / 418 refusal is not (the request was not processed)."""
        started = time.monotonic()
        try:
            return fn()
        except RateLimitedError:
            raise
        except TransientVenueError:
            for cid in ids:
                self._send_times[cid] = started
            raise

    def _may_still_land(self, client_order_id: str) -> float | None:
        """Return the recvWindow (s) if a send of ``client_order_id`` whose outcome is unknown
        began less than that long ago.

        Binance executes a signed request until ``timestamp + recvWindow`` (Binance spot API,
        "Timing security"): a send whose answer was lost may still reach the matching engine
        that long after it left, so its absence proves nothing before then.
        """
        window = float(self._ex.options.get("recvWindow", 5000)) / 1000.0
        sent = self._send_times.get(client_order_id)
        return window if sent is not None and time.monotonic() - sent < window else None

    def _lookup(self, client_order_id: str, symbol: str) -> OrderState | None:
        vid = venue_client_id(client_order_id)
        self._original[vid] = client_order_id  # map a hashed id back, also after a restart
        params = {"clientOrderId": vid}
        try:
            order = self._call("get_order", lambda: self._ex.fetch_order(None, symbol, params))
        except _NotFound:
            return None
        return self._state(order, symbol)

    def _state(self, order: dict, symbol: str) -> OrderState:
        vid = order.get("clientOrderId") or ""
        cid = self._original.get(vid, vid)
        filled = float(order.get("filled") or 0.0)
        status = _STATUS.get(order.get("status") or "open")
        if status is None:
            status = "partially_filled" if filled > 0 else "new"
        if order.get("id") is not None:
            self._order_cid[str(order["id"])] = cid
        stamp = order.get("timestamp")
        trigger = order.get("triggerPrice") or order.get("stopPrice")
        updated = order.get("lastUpdateTimestamp") or order.get("lastTradeTimestamp") or stamp
        return OrderState(
            client_order_id=cid,
            venue_id=str(order.get("id")),
            symbol=order.get("symbol") or symbol,
            side=cast(Side, order.get("side")),  # ccxt's unified side: "buy" or "sell"
            qty=float(order.get("amount") or 0.0),
            filled_qty=filled,
            avg_fill_price=float(order["average"]) if order.get("average") and filled else None,
            status=status,
            created=to_utc(stamp) if stamp else None,
            updated=to_utc(updated) if updated else None,
            limit_price=float(order["price"]) if order.get("type") != "market" and order.get("price") else None,
            stop_price=float(trigger) if trigger else None,
        )

    def _holdings(self, balance: dict) -> dict[str, float]:
        out = {}
        for sym in self.symbols:
            qty = float((balance.get(self._market(sym)["base"]) or {}).get("total") or 0.0)
            if qty:
                out[sym] = qty
        return out

    def _bars_from(
        self,
        symbol: str,
        timeframe: str,
        since: pd.Timestamp,
        delta: pd.Timedelta,
        now: pd.Timestamp,
    ) -> list[list]:
        rows: list[list] = []
        cursor = int(since.value // 1_000_000)
        for _ in range(10_000):
            page = self._retrying(
                "bars",
                partial(self._ex.fetch_ohlcv, symbol, timeframe, since=cursor, limit=_PAGE),
            )
            if not page:
                break
            rows += page
            cursor = int(page[-1][0]) + 1
            if to_utc(int(page[-1][0])) + delta >= now:
                break
        return rows

    def _trades(self, symbol: str, since_ms: int | None, order_id: str | None = None) -> list[dict]:
        params = {"orderId": order_id} if order_id else {}
        out: list[dict] = []
        while True:
            page = self._retrying(
                "fills",
                partial(self._my_trades_page, symbol, since_ms, params),
            )
            fresh = [t for t in page if t["id"] not in {x["id"] for x in out}]
            out += fresh
            if len(page) < _PAGE or not fresh:
                return out
            since_ms = int(page[-1]["timestamp"])

    def _my_trades_page(self, symbol: str, since_ms: int | None, params: dict) -> list[dict]:
        return self._ex.fetch_my_trades(symbol, since=since_ms, limit=_PAGE, params=dict(params))

    def _all_orders(self, symbol: str, since_ms: int | None) -> list[dict]:
        """Return the symbol's orders since ``since_ms``: the newest page, or when that is full and
        starts after ``since_ms``, one-day windows from ``since_ms`` (Binance caps a window at 24 h)."""
        newest = self._retrying("orders", lambda: self._ex.fetch_orders(symbol, limit=_PAGE))
        stamps = [int(o["timestamp"]) for o in newest if o.get("timestamp")]
        if len(newest) < _PAGE or (since_ms is not None and stamps and min(stamps) < since_ms):
            return newest
        cursor, end = since_ms or 0, max(stamps, default=0)
        out: dict[str, dict] = {}
        while cursor <= end:
            window = dict(until=cursor + _DAY_MS)
            page = self._retrying(
                "orders",
                partial(self._ex.fetch_orders, symbol, since=cursor, limit=_PAGE, params=window),
            )
            fresh = [o for o in page if str(o["id"]) not in out]
            out.update((str(o["id"]), o) for o in fresh)
            full = len(page) >= _PAGE and fresh
            cursor = max(int(o["timestamp"]) for o in page) if full else cursor + _DAY_MS
        out.update((str(o["id"]), o) for o in newest)
        return list(out.values())

    def _fill(self, trade: dict, symbol: str) -> Fill:
        oid = str(trade["order"])
        if oid not in self._order_cid:
            try:
                order = self._retrying("get_order", lambda: self._ex.fetch_order(oid, symbol))
            except _NotFound:  # lookup lag: the trade is there, its order not yet
                raise TransientVenueError(f"{self.name}: order {oid} of trade {trade['id']} not found yet") from None
            self._state(order, symbol)
        fee = trade.get("fee") or {}
        price, cost = float(trade["price"]), float(fee.get("cost") or 0.0)
        return Fill(
            client_order_id=self._order_cid.get(oid),
            venue_order_id=oid,
            trade_id=str(trade["id"]),
            symbol=symbol,
            side=trade["side"],
            qty=float(trade["amount"]),
            price=price,
            commission=cost,
            commission_asset=fee.get("currency"),
            time=to_utc(int(trade["timestamp"])),
            commission_quote=self._fee_value(symbol, cost, fee.get("currency"), price),
        )

    def _fee_value(self, symbol: str, cost: float, asset: str | None, price: float) -> float | None:
        """Return a fee in the symbol's quote currency; a third asset (BNB) at the venue's last price.

        None when the venue lists no ``<asset>/<quote>`` market: the fee is then journaled in its
        own asset only.
        """
        market = self._market(symbol)
        if not cost or asset in (None, market["quote"]):
            return cost
        if asset == market["base"]:
            return cost * price
        pair = f"{asset}/{market['quote']}"
        if pair not in (self._ex.markets or {}):
            return None
        ticker = self._retrying("ticker", lambda: self._ex.fetch_ticker(pair))
        return cost * float(ticker["last"])


def _build_exchange(
    exchange: str,
    credentials: CcxtCredentials | None,
    sandbox: bool,
    api_url: str | None,
    timeout: float,
    enable_rate_limit: bool,
    options: Mapping[str, Any] | None,
) -> Any:
    cls = getattr(ccxt, exchange, None)
    if not (isinstance(cls, type) and issubclass(cls, ccxt.Exchange)):
        raise ConfigError("broker.ccxt.exchange", f"unknown ccxt exchange id {exchange!r}")
    config: dict[str, Any] = {
        "timeout": int(timeout * 1000),
        "enableRateLimit": enable_rate_limit,
        "options": {**DEFAULT_OPTIONS, **(options or {})},
    }
    if credentials is not None:
        config["apiKey"] = credentials.api_key.get_secret_value()
        config["secret"] = credentials.secret.get_secret_value()
        if credentials.password is not None:
            config["password"] = credentials.password.get_secret_value()
    ex = cls(config)
    if sandbox:
        try:
            ex.set_sandbox_mode(True)
        except ccxt.NotSupported as err:
            raise ConfigError("broker.ccxt.sandbox", f"{exchange} has no sandbox/testnet") from err
    if api_url:
        ex.urls["api"] = override_origins(ex.urls["api"], api_url)
    return ex
