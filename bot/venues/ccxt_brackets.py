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

from typing import Any

from loguru import logger

from bot.errors import TransientVenueError
from bot.venues.retry import submit_idempotently
from bot.venues.types import OrderRequest, OrderState

NATIVE_OCO = frozenset({"binance"})  # exchanges whose OCO order list we know how to place


class BracketExits:
    """Mixin: bracket registry and exit arming. Needs the host's ccxt helpers."""

    _brackets: dict[str, OrderRequest]
    _ex: Any
    name: str

    def sync(self) -> None:
        """Place the exits of bracket entries that have filled since the last call."""
        for cid, req in list(self._brackets.items()):
            entry = self.get_order(cid, req.symbol)
            if entry is None or (not entry.is_open and entry.filled_qty == 0):
                self._brackets.pop(cid)
            elif not entry.is_open:
                self._arm_exits(req, entry)
                self._brackets.pop(cid)

    def _arm_exits(self, req: OrderRequest, entry: OrderState) -> None:
        """Place the exits of a filled bracket entry for the base amount actually received."""
        market = self._market(req.symbol)
        qty = entry.filled_qty
        if req.side == "buy":
            trades = self._trades(req.symbol, None, order_id=entry.venue_id)
            qty -= sum(
                float(t["fee"]["cost"])
                for t in trades
                if t.get("fee") and t["fee"].get("currency") == market["base"]
            )
        amount = float(self._call("bracket", lambda: self._ex.amount_to_precision(req.symbol, qty)))
        side = "sell" if req.side == "buy" else "buy"
        tp_id, sl_id = f"{req.client_order_id}-tp", f"{req.client_order_id}-sl"
        if req.take_profit is not None and req.stop_loss is not None:
            send = lambda: self._place_oco(market, side, amount, req, tp_id, sl_id)  # noqa: E731
            first = tp_id
        else:
            first = tp_id if req.take_profit is not None else sl_id
            send = lambda: self._place_exit(market, side, amount, req, first)  # noqa: E731
        submit_idempotently(
            send,
            lambda: self._lookup(first, req.symbol),
            policy=self._retry,
            sleep=self._sleep,
            what=f"{self.name} exits {req.client_order_id}",
        )
        logger.info("{}: exits armed for {} ({} {})", self.name, req.client_order_id, side, amount)

    def _place_exit(
        self, market: dict, side: str, amount: float, req: OrderRequest, cid: str
    ) -> OrderState:
        vid = self._remember(cid, req.symbol)
        if req.take_profit is not None:
            kind, price, params = "limit", req.take_profit, {"clientOrderId": vid}
        else:
            kind, price, params = (
                "market",
                None,
                {"clientOrderId": vid, "triggerPrice": req.stop_loss},
            )
        order = self._call(
            "submit",
            lambda: self._ex.create_order(market["symbol"], kind, side, amount, price, params),
        )
        return self._state(order, req.symbol)

    def _place_oco(
        self, market: dict, side: str, amount: float, req: OrderRequest, tp_id: str, sl_id: str
    ) -> OrderState:
        tp_vid, sl_vid = self._remember(tp_id, req.symbol), self._remember(sl_id, req.symbol)
        tp = {
            "Type": "LIMIT_MAKER",
            "Price": self._ex.price_to_precision(req.symbol, req.take_profit),
            "ClientOrderId": tp_vid,
        }
        sl = {
            "Type": "STOP_LOSS",
            "StopPrice": self._ex.price_to_precision(req.symbol, req.stop_loss),
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
        self._call("submit", lambda: self._ex.privatePostOrderListOco(params))
        state = self._lookup(tp_id, req.symbol)
        if state is None:
            raise TransientVenueError(f"{self.name}: OCO accepted but {tp_id} not found yet")
        return state
