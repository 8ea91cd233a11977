"""Client-side bracket orders for spot exchanges (mixed into :class:`CcxtVenue`).

Spot exchanges have no "entry + exits" order, so the entry is sent alone and registered
here. :meth:`BracketExits.sync` (also run by ``open_orders``) sees it filled and places the
exits for the base amount actually received (fees taken from the base asset are subtracted):
one native OCO order list (take-profit LIMIT_MAKER + STOP_LOSS, Binance ``orderList/oco``)
when both exits are given, else a single limit or stop order. Exit client ids are
``<id>-tp`` / ``<id>-sl`` and are sent idempotently, so arming twice places nothing twice.
The registry lives in memory: after a restart, call ``submit_order`` again for journaled
bracket entries (it does not resend the entry; it re-registers the exits to arm).
An entry cancelled after a partial fill gets exits for the part that filled.

This module does not import ccxt: it uses the exchange object held by the venue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from loguru import logger

from bot.errors import OrderRejectedError, OutcomeUnknownError, TransientVenueError
from bot.orders import OrderRequest
from bot.venues.retry import RetryPolicy, Sleep, submit_idempotently
from bot.venues.types import ExitReport, OrderState

T = TypeVar("T")

OCO_METHOD = "privatePostOrderListOco"  # Binance POST /api/v3/orderList/oco, as ccxt names it


def has_oco_endpoint(ex: Any) -> bool:
    """Return True if the ccxt exchange (class or instance) has the OCO order-list endpoint."""
    return callable(getattr(ex, OCO_METHOD, None))


def oco_allowed(ex: Any, market: dict) -> bool:
    """Return True if ``market`` takes OCO order lists: its exchange info says ``ocoAllowed``
    (Binance exchangeInfo) and the exchange has the endpoint."""
    return bool((market.get("info") or {}).get("ocoAllowed")) and has_oco_endpoint(ex)


class BracketExits:
    """Mixin: bracket registry and exit arming. Needs the host's ccxt helpers."""

    _brackets: dict[str, OrderRequest]
    _ex: Any
    _send_times: dict[str, float]
    _retry: RetryPolicy
    _sleep: Sleep
    name: str

    if TYPE_CHECKING:  # provided by the host venue (CcxtVenue); declared for the type checker

        def get_order(self, client_order_id: str, symbol: str | None = None) -> OrderState | None: ...
        def price_on_tick(self, symbol: str, price: float | None) -> float | None: ...
        def checked_amount(self, market: dict, qty: float, prices: list, exits: list, what: str) -> float: ...
        def _market(self, symbol: str, for_order: bool = False) -> dict: ...
        def _trades(self, symbol: str, since_ms: int | None, order_id: str | None = None) -> list[dict]: ...
        def _call(self, op: str, fn: Callable[[], T]) -> T: ...
        def _retrying(self, op: str, fn: Callable[[], T]) -> T: ...
        def _attempt(self, ids: Sequence[str], fn: Callable[[], T]) -> T: ...
        def _may_still_land(self, client_order_id: str) -> float | None: ...
        def _lookup(self, client_order_id: str, symbol: str) -> OrderState | None: ...
        def _remember(self, client_order_id: str, symbol: str) -> str: ...
        def _state(self, order: dict, symbol: str) -> OrderState: ...

    def sync(self) -> None:
        """Place the exits of bracket entries that have filled since the last call.

        Never raises for one entry's exits: each attempt (one per entry and call, so a failing
        endpoint cannot stall the caller) ends as an :class:`ExitReport` for
        :meth:`exit_reports`; a transient failure keeps the entry registered for the next call.
        """
        for cid, req in list(self._brackets.items()):
            try:
                entry = self.get_order(cid, req.symbol)
                if entry is None or (not entry.is_open and entry.filled_qty == 0):
                    self._brackets.pop(cid)
                elif not entry.is_open:
                    self._arm_exits(req, entry)
                    self._brackets.pop(cid)
            except OrderRejectedError as err:
                self._brackets.pop(cid)
                maybe = self._sent_unknown(req)  # an earlier send may still land at the venue (kept: recvWindow)
                self._report(
                    ExitReport(
                        "rejected",
                        cid,
                        req.symbol,
                        getattr(self, "_exit_qty", {}).get(cid, 0.0),
                        self._intended(req),
                        error=str(err),
                        maybe_placed=maybe,
                    )
                )
            except TransientVenueError as err:
                self._report(
                    ExitReport(
                        "failed",
                        cid,
                        req.symbol,
                        getattr(self, "_exit_qty", {}).get(cid, 0.0),
                        self._intended(req),
                        error=str(err),
                        maybe_placed=self._sent_unknown(req),
                    )
                )

    def register_exits(self, req: OrderRequest, generation: int = 0) -> None:
        """Arm ``req``'s exits at the next :meth:`sync` once it has filled (again, after a restart).

        ``generation`` > 0 names the exits ``<id>-tp<n>`` / ``-sl<n>``: exits placed anew after
        earlier ones were cancelled or refused get ids of their own.
        """
        self._brackets[req.client_order_id] = req
        self._generations()[req.client_order_id] = generation

    def arming(self, entry_id: str) -> bool:
        """Return True while ``entry_id``'s exits are registered and not yet placed."""
        return entry_id in self._brackets

    def exit_reports(self) -> list[ExitReport]:
        """Return (and forget) what :meth:`sync` did about exits since the last call."""
        reports = getattr(self, "_exit_reports", [])
        self._exit_reports: list[ExitReport] = []
        return reports

    def _report(self, report: ExitReport) -> None:
        if not hasattr(self, "_exit_reports"):
            self._exit_reports = []
        self._exit_reports.append(report)
        if report.kind != "placed":
            logger.warning("{}: exits of {} {}: {}", self.name, report.entry_id, report.kind, report.error)

    def _sent_unknown(self, req: OrderRequest, forget: bool = False) -> bool:
        """Return True if a send of ``req``'s exits ended with its outcome unknown (``_attempt``);
        ``forget``: those sends are settled now (the exits are placed)."""
        legs = [leg for leg, _, _ in self._intended(req)]
        sent = any(leg in self._send_times for leg in legs)
        if forget:
            for leg in legs:
                self._send_times.pop(leg, None)
        return sent

    def _generations(self) -> dict[str, int]:
        if not hasattr(self, "_generation"):
            self._generation: dict[str, int] = {}
        return self._generation

    def _leg_ids(self, req: OrderRequest) -> tuple[str, str]:
        n = self._generations().get(req.client_order_id, 0)
        tag = str(n) if n else ""
        return f"{req.client_order_id}-tp{tag}", f"{req.client_order_id}-sl{tag}"

    def _intended(self, req: OrderRequest) -> tuple[tuple[str, str, float], ...]:
        tp_id, sl_id = self._leg_ids(req)
        out = []
        if req.take_profit is not None:
            out.append((tp_id, "take_profit", float(req.take_profit)))
        if req.stop_loss is not None:
            out.append((sl_id, "stop_loss", float(req.stop_loss)))
        return tuple(out)

    def _arm_exits(self, req: OrderRequest, entry: OrderState) -> None:
        """Place the exits of a filled bracket entry for the base amount actually received."""
        if not hasattr(self, "_exit_qty"):
            self._exit_qty: dict[str, float] = {}
        market = self._market(req.symbol)
        qty = entry.filled_qty
        if req.side == "buy":
            trades = self._trades(req.symbol, None, order_id=entry.venue_id)
            qty -= sum(
                float(t["fee"]["cost"]) for t in trades if t.get("fee") and t["fee"].get("currency") == market["base"]
            )
        self._exit_qty[req.client_order_id] = qty
        amount = float(self._call("bracket", lambda: self._ex.amount_to_precision(req.symbol, qty)))
        self._exit_qty[req.client_order_id] = amount
        side = "sell" if req.side == "buy" else "buy"
        tp_id, sl_id = self._leg_ids(req)
        if req.take_profit is not None and req.stop_loss is not None:
            send = lambda: self._place_oco(market, side, amount, req, tp_id, sl_id)  # noqa: E731
            first = tp_id
        else:
            first = tp_id if req.take_profit is not None else sl_id
            send = lambda: self._place_exit(market, side, amount, req, first)  # noqa: E731
        if self._may_still_land(first) is not None and self._lookup(first, req.symbol) is None:
            raise OutcomeUnknownError(
                f"{self.name}: exits of {req.client_order_id} were sent less than "
                "the recvWindow ago and may still be executed: not sent again yet"
            )
        submit_idempotently(
            send,
            lambda: self._lookup(first, req.symbol),
            policy=self._retry.model_copy(update={"attempts": 1}),  # once per sync: never stall the poll
            sleep=self._sleep,
            what=f"{self.name} exits {req.client_order_id}",
        )
        ids = {self._remember(c, req.symbol) for c in (tp_id, sl_id)}
        opened = self._retrying("open_orders", lambda: self._ex.fetch_open_orders(req.symbol))
        legs = tuple(self._state(o, req.symbol) for o in opened if o.get("clientOrderId") in ids)
        self._sent_unknown(req, forget=True)
        self._report(ExitReport("placed", req.client_order_id, req.symbol, amount, self._intended(req), legs))
        logger.info("{}: exits armed for {} ({} {})", self.name, req.client_order_id, side, amount)

    def _place_exit(self, market: dict, side: str, amount: float, req: OrderRequest, cid: str) -> OrderState:
        tp = self.price_on_tick(req.symbol, req.take_profit)
        sl = self.price_on_tick(req.symbol, req.stop_loss)
        exit_price = tp if tp is not None else sl
        amount = self.checked_amount(market, amount, [exit_price], [], f"exit {cid}")
        vid = self._remember(cid, req.symbol)
        params: dict[str, Any]
        if tp is not None:
            kind, price, params = "limit", tp, {"clientOrderId": vid}
        else:
            kind, price, params = "market", None, {"clientOrderId": vid, "triggerPrice": sl}
        order = self._attempt(
            [cid],
            lambda: self._call(
                "submit",
                lambda: self._ex.create_order(market["symbol"], kind, side, amount, price, params),
            ),
        )
        return self._state(order, req.symbol)

    def _place_oco(
        self, market: dict, side: str, amount: float, req: OrderRequest, tp_id: str, sl_id: str
    ) -> OrderState:
        tp_price = self.price_on_tick(req.symbol, req.take_profit)
        sl_price = self.price_on_tick(req.symbol, req.stop_loss)
        amount = self.checked_amount(market, amount, [tp_price, sl_price], [], f"exits {req.client_order_id}")
        tp_vid, sl_vid = self._remember(tp_id, req.symbol), self._remember(sl_id, req.symbol)
        tp = {
            "Type": "LIMIT_MAKER",
            "Price": self._ex.price_to_precision(req.symbol, tp_price),
            "ClientOrderId": tp_vid,
        }
        sl = {
            "Type": "STOP_LOSS",
            "StopPrice": self._ex.price_to_precision(req.symbol, sl_price),
            "ClientOrderId": sl_vid,
        }
        above, below = (tp, sl) if side == "sell" else (sl, tp)
        params = {
            "symbol": market["id"],
            "side": side.upper(),
            "quantity": self._ex.amount_to_precision(req.symbol, amount),
            "listClientOrderId": self._remember(f"{req.client_order_id}-oco", req.symbol),
            **{f"above{k}": v for k, v in above.items()},
            **{f"below{k}": v for k, v in below.items()},
        }
        self._attempt([tp_id, sl_id], lambda: self._call("submit", lambda: self._ex.privatePostOrderListOco(params)))
        state = self._lookup(tp_id, req.symbol)
        if state is None:
            raise TransientVenueError(f"{self.name}: OCO accepted but {tp_id} not found yet")
        return state
