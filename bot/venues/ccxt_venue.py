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
from typing import Any, TypeVar
from urllib.parse import urlsplit

import ccxt
import pandas as pd
from loguru import logger

from bot.errors import (
    ConfigError,
    FatalVenueError,
    OrderRejectedError,
    RateLimitedError,
    TransientVenueError,
    VenueError,
)
from bot.venues.base import closed_only, make_bars, timeframe_delta, to_utc
from bot.venues.ccxt_brackets import NATIVE_OCO, BracketExits
from bot.venues.credentials import CcxtCredentials, scrub
from bot.venues.retry import RetryPolicy, Sleep, call_with_retry, submit_idempotently
from bot.venues.types import Account, Fill, OrderRequest, OrderState

T = TypeVar("T")
DEFAULT_OPTIONS = {  # keep ccxt on the spot endpoints (no margin/futures/currency calls)
    "defaultType": "spot",
    "fetchCurrencies": False,
    "fetchMargins": False,
    "fetchMarkets": {"types": ["spot"]},
    "warnOnFetchOpenOrdersWithoutSymbol": False,
}
_ID_OK = re.compile(r"[.A-Za-z0-9:/_-]{1,36}")
_STATUS = {
    "closed": "filled",
    "canceled": "canceled",
    "expired": "canceled",
    "rejected": "rejected",
}
_PAGE = 1000


class _NotFound(VenueError):
    """The exchange does not know the order: the caller turns it into None."""


def venue_client_id(client_order_id: str) -> str:
    """Return an id the exchange accepts (<= 36 safe chars); long ids become a stable hash."""
    if _ID_OK.fullmatch(client_order_id):
        return client_order_id
    return "mp-" + hashlib.sha256(client_order_id.encode()).hexdigest()[:32]


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
        self._ex = _build_exchange(
            exchange, credentials, sandbox, api_url, timeout, enable_rate_limit, options
        )
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._loaded = False
        self._original: dict[str, str] = {}  # venue client id -> our client id
        self._symbol_of: dict[str, str] = {}  # our client id -> symbol
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
        if op == "submit" and isinstance(
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
            page = self._retrying(
                "bars", lambda: self._ex.fetch_ohlcv(symbol, timeframe, limit=limit + 1)
            )
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
                ticker = self._retrying("ticker", lambda s=symbol: self._ex.fetch_ticker(s))
                equity += qty * float(ticker["last"])
        return Account(cash=cash, equity=equity, currency=quote)

    def positions(self) -> dict[str, float]:
        """Return the venue's base-asset balances of the traded symbols (non-zero only)."""
        return self._holdings(self._retrying("balance", self._ex.fetch_balance))

    def submit_order(self, req: OrderRequest) -> OrderState:
        """Send ``req`` at most once; register its exits (see the module doc) if a bracket."""
        if (
            req.take_profit is not None
            and req.stop_loss is not None
            and self.name not in NATIVE_OCO
        ):
            raise OrderRejectedError(
                f"{self.name}: bracket with two exits needs an OCO order "
                f"list; supported on {sorted(NATIVE_OCO)}"
            )
        market = self._market(req.symbol, for_order=True)
        vid = self._remember(req.client_order_id, req.symbol)
        amount = float(
            self._call("submit", lambda: self._ex.amount_to_precision(req.symbol, req.qty))
        )
        kind, price, params = "market", None, {"clientOrderId": vid}
        if req.type == "limit":
            kind, price = "limit", req.limit_price
        elif req.type == "stop":
            params["triggerPrice"] = req.stop_price

        def send() -> OrderState:
            created = self._call(
                "submit",
                lambda: self._ex.create_order(
                    market["symbol"], kind, req.side, amount, price, dict(params)
                ),
            )
            return self._state(created, req.symbol)

        state = submit_idempotently(
            send,
            lambda: self._lookup(req.client_order_id, req.symbol),
            policy=self._retry,
            sleep=self._sleep,
            what=f"{self.name} submit {req.client_order_id}",
        )
        if req.is_bracket:
            self._brackets[req.client_order_id] = req
        return state

    def get_order(self, client_order_id: str, symbol: str | None = None) -> OrderState | None:
        """Return the order with this client id, searching the traded symbols if needed."""
        candidates = (
            [symbol]
            if symbol
            else (
                [self._symbol_of[client_order_id]]
                if client_order_id in self._symbol_of
                else self.symbols
            )
        )
        for sym in candidates:
            state = call_with_retry(
                lambda s=sym: self._lookup(client_order_id, s),
                policy=self._retry,
                sleep=self._sleep,
                what=f"{self.name} get_order",
            )
            if state is not None:
                return state
        return None

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
            orders = self._retrying("open_orders", lambda s=sym: self._ex.fetch_open_orders(s))
            out += [self._state(o, sym) for o in orders]
        return out

    def fills(self, since: pd.Timestamp | None = None) -> list[Fill]:
        """Return executions of the traded symbols (``myTrades``) at or after ``since``."""
        since_ms = int(to_utc(since).value // 1_000_000) if since is not None else None
        out: list[Fill] = []
        for sym in self.symbols:
            out += [self._fill(t, sym) for t in self._trades(sym, since_ms)]
        return sorted(out, key=lambda f: (f.time, f.trade_id))

    # ---- helpers --------------------------------------------------------------------
    def _remember(self, client_order_id: str, symbol: str) -> str:
        vid = venue_client_id(client_order_id)
        self._original[vid] = client_order_id
        self._symbol_of[client_order_id] = symbol
        return vid

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
        updated = order.get("lastUpdateTimestamp") or order.get("lastTradeTimestamp") or stamp
        return OrderState(
            client_order_id=cid,
            venue_id=str(order.get("id")),
            symbol=order.get("symbol") or symbol,
            side=order.get("side"),
            qty=float(order.get("amount") or 0.0),
            filled_qty=filled,
            avg_fill_price=float(order["average"]) if order.get("average") and filled else None,
            status=status,  # type: ignore[arg-type]
            created=to_utc(stamp) if stamp else None,
            updated=to_utc(updated) if updated else None,
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
                lambda c=cursor: self._ex.fetch_ohlcv(symbol, timeframe, since=c, limit=_PAGE),
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
                lambda s=since_ms: self._ex.fetch_my_trades(
                    symbol, since=s, limit=_PAGE, params=dict(params)
                ),
            )
            fresh = [t for t in page if t["id"] not in {x["id"] for x in out}]
            out += fresh
            if len(page) < _PAGE or not fresh:
                return out
            since_ms = int(page[-1]["timestamp"])

    def _fill(self, trade: dict, symbol: str) -> Fill:
        oid = str(trade["order"])
        if oid not in self._order_cid:
            order = self._retrying("get_order", lambda: self._ex.fetch_order(oid, symbol))
            self._state(order, symbol)
        fee = trade.get("fee") or {}
        return Fill(
            client_order_id=self._order_cid.get(oid),
            venue_order_id=oid,
            trade_id=str(trade["id"]),
            symbol=symbol,
            side=trade["side"],
            qty=float(trade["amount"]),
            price=float(trade["price"]),
            commission=float(fee.get("cost") or 0.0),
            commission_asset=fee.get("currency"),
            time=to_utc(int(trade["timestamp"])),
        )


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
