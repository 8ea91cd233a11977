"""The venue-facing half of the live broker: journal, send, track (no Backtrader here).

:meth:`OrderRouter.send` writes the order to the journal (status ``pending``) *before* it is
sent, then submits it idempotently by its deterministic client order id. A refused order is
journaled ``rejected`` and skipped; a send whose outcome stays unknown after the venue client's
retries stays ``pending`` and is looked up (and if absent, resent while its bar is current) on
the next :meth:`poll`.

:meth:`poll` returns what happened at the venue since the last call as :class:`OrderEvent`s:
fills (commission converted to the quote currency) and final statuses. Fills of bracket exits
are attributed to their entry: by the exit's id (``<entry>-tp`` / ``-sl`` / ``-ts``, paper and
CCXT) or, when the venue names exits itself (Alpaca), as the exit of the symbol's armed
bracket, take-profit or stop-loss by whichever of the two prices the fill is nearer to.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from loguru import logger

from bot.errors import OrderRejectedError, TransientVenueError
from bot.live.journal import FINAL, Journal, OrderRow
from bot.venues.base import VenueClient
from bot.venues.types import Fill, OrderRequest, OrderState

LEG_SUFFIXES = {"-tp": "take_profit", "-sl": "stop_loss", "-ts": "trailing_stop"}
ARMED_KEY = "armed_brackets"


@dataclass(frozen=True)
class Ticket:
    """An order to place, with what the journal records about its decision."""

    client_order_id: str
    symbol: str
    side: str
    qty: float
    intent: str
    type: str = "market"
    limit_price: float | None = None
    stop_price: float | None = None
    take_profit: float | None = None
    stop_loss: float | None = None
    trail_percent: float | None = None
    bar_time: pd.Timestamp | None = None
    model_version: str | None = None

    def request(self) -> OrderRequest:
        return OrderRequest(self.client_order_id, self.symbol, self.side, self.qty, self.type,  # type: ignore[arg-type]
                            self.limit_price, self.stop_price, self.take_profit, self.stop_loss)


@dataclass(frozen=True)
class OrderEvent:
    """A fill (``qty`` > 0) or a final status of one of our orders.

    For a bracket exit, ``client_order_id`` is the entry's id and ``leg`` the exit kind.
    """

    client_order_id: str
    status: str
    qty: float = 0.0
    price: float = 0.0
    commission: float = 0.0
    time: pd.Timestamp | None = None
    leg: str | None = None


def leg_of(client_order_id: str | None) -> tuple[str, str] | None:
    """Return (entry id, exit kind) for an exit id like ``<entry>-tp``, else None."""
    if not client_order_id:
        return None
    for suffix, kind in LEG_SUFFIXES.items():
        if client_order_id.endswith(suffix):
            return client_order_id[: -len(suffix)], kind
    return None


def quote_commission(fill: Fill) -> float:
    """Return the fill's commission in the quote currency (a base-asset fee is valued at the price)."""
    base = fill.symbol.split("/")[0] if "/" in fill.symbol else None
    if fill.commission_asset is not None and fill.commission_asset == base:
        return fill.commission * fill.price
    return fill.commission


class OrderRouter:
    """Journal-first order placement and tracking on one venue."""

    def __init__(self, venue: VenueClient, journal: Journal, session_id: int | None = None,
                 since: pd.Timestamp | None = None):
        self.venue, self.journal, self.session_id = venue, journal, session_id
        self._since = since  # fills before this time belong to earlier sessions (reconciliation)
        self._trailing = bool(getattr(venue, "supports_trailing", False))
        self._unreported: list[OrderEvent] = []

    # ---- placing ------------------------------------------------------------------------
    def send(self, t: Ticket) -> OrderState | None:
        """Journal, then submit ``t``; return the venue's state, or None if refused/unknown."""
        self.journal.record_order(OrderRow(
            client_id=t.client_order_id, symbol=t.symbol, side=t.side, qty=float(t.qty), type=t.type,
            status="pending", intent=t.intent, bar_time=t.bar_time, model_version=t.model_version,
            limit_price=t.limit_price, stop_price=t.stop_price, take_profit=t.take_profit,
            stop_loss=t.stop_loss, trail_percent=t.trail_percent, created=self._clock(),
            session_id=self.session_id))
        return self._submit(t)

    def _submit(self, t: Ticket) -> OrderState | None:
        try:
            if t.trail_percent and self._trailing:
                state = self.venue.submit_order(t.request(), trail_percent=t.trail_percent)  # type: ignore[call-arg]
            else:
                state = self.venue.submit_order(t.request())
        except OrderRejectedError as err:
            logger.warning("order {} {} {} {} rejected: {}", t.client_order_id, t.side, t.qty, t.symbol, err)
            self.journal.update_order(t.client_order_id, status="rejected", error=str(err)[:400])
            return None
        except TransientVenueError as err:
            logger.warning("order {}: outcome unknown after retries ({}); will look it up", t.client_order_id, err)
            return None
        self.record_state(state)
        return state

    def resend(self, row: OrderRow) -> OrderState | None:
        """Submit a journaled order again (idempotent: the venue's copy is found, not duplicated)."""
        return self._submit(ticket_of(row))

    def cancel(self, client_order_id: str, symbol: str | None = None) -> OrderState | None:
        """Cancel one order at the venue and journal its state."""
        state = self.venue.cancel_order(client_order_id, symbol)
        if state is not None:
            self.record_state(state)
        return state

    def cancel_exits(self, symbol: str, side: str = "sell") -> list[str]:
        """Cancel the venue's resting ``side`` exits on ``symbol`` (ours or left by an earlier run)."""
        self._disarm(symbol)
        done = []
        ours = {r.client_id: r for r in self.journal.orders(symbol=symbol)}
        for o in self.venue.open_orders():
            row = ours.get(o.client_order_id)
            if o.symbol != symbol or o.side != side or (row is not None and row.intent in ("entry", "exit")):
                continue
            state = self.venue.cancel_order(o.client_order_id, symbol)
            if row is not None and state is not None:
                self.record_state(state)
            done.append(o.client_order_id)
        if done:
            logger.info("{}: cancelled resting exits {}", symbol, ", ".join(done))
        return done

    # ---- tracking -----------------------------------------------------------------------
    def poll(self, current_bar: pd.Timestamp | None = None) -> list[OrderEvent]:
        """Return new fills and final statuses; resolve orders whose send outcome was unknown.

        Events found before a venue error are kept and returned by the next successful call.
        """
        self.venue.sync()
        self.sync_fills()
        for row in self.journal.open_orders():
            self._unreported += self._check(row, current_bar)
        events, self._unreported = self._unreported, []
        return events

    def sync_fills(self, queue: bool = True) -> list[OrderEvent]:
        """Journal new venue fills; return the events they make (``queue``: also for :meth:`poll`)."""
        last = self.journal.last_fill_time()
        since = max(t for t in (last, self._since) if t is not None) if (last or self._since) else None
        events = []
        for f in self.venue.fills(since):
            if not self.journal.add_fill(f, self.session_id):
                continue
            event = self._attribute(f)
            if event is not None:
                events.append(event)
                if queue:
                    self._unreported.append(event)
        return events

    def _attribute(self, f: Fill) -> OrderEvent | None:
        comm = quote_commission(f)
        row = self.journal.get_order(f.client_order_id) if f.client_order_id else None
        if row is not None and row.parent_id is None:
            self._add_fill(row, f, comm)
            status = self._status(row)
            if row.take_profit is not None or row.stop_loss is not None:
                self._arm(row.symbol, row.client_id)
            return OrderEvent(row.client_id, status, f.qty, f.price, comm, f.time)
        leg = leg_of(f.client_order_id)
        parent = self.journal.get_order(leg[0]) if leg else None
        if parent is None:
            parent = self._armed_parent(f.symbol)
            if parent is None:
                logger.warning("fill {} of {} {} {} is not from an order of this bot", f.trade_id, f.side,
                               f.qty, f.symbol)
                return None
            leg = (parent.client_id, _nearest_exit(parent, f.price))
        self._record_leg(parent, leg[1], f, comm)
        self._disarm(f.symbol)
        return OrderEvent(parent.client_id, "filled", f.qty, f.price, comm, f.time, leg=leg[1])

    def _check(self, row: OrderRow, current_bar: pd.Timestamp | None) -> list[OrderEvent]:
        state = self.venue.get_order(row.client_id, row.symbol)
        if state is None:
            if row.status == "pending" and current_bar is not None and row.bar_time == current_bar:
                logger.info("order {} never reached the venue; sending it now", row.client_id)
                self.resend(row)
                return []
            if row.status == "pending":
                logger.warning("order {} never reached the venue and its bar has passed: expired", row.client_id)
                self.journal.update_order(row.client_id, status="expired")
                return [] if row.parent_id else [OrderEvent(row.client_id, "expired")]
            return []
        self.record_state(state)
        if state.status in ("canceled", "rejected") and row.parent_id is None:
            return [OrderEvent(row.client_id, state.status)]
        return []

    # ---- journal helpers ------------------------------------------------------------------
    def record_state(self, s: OrderState) -> None:
        row = self.journal.get_order(s.client_order_id)
        if row is None:
            return
        status = s.status
        if status == "filled" and row.filled_qty + 1e-12 < s.filled_qty:
            status = "partially_filled"  # filled at the venue; its fills are journaled by poll()
        if row.status in FINAL and row.status != "filled" and status != row.status:
            return
        self.journal.update_order(s.client_order_id, status=status, venue_id=s.venue_id, updated=s.updated)

    def _status(self, row: OrderRow) -> str:
        """Return the order's status after a fill: the venue's word (it may have rounded the size)."""
        mine = self.journal.get_order(row.client_id)
        if mine is None or mine.status == "filled":
            return "filled"
        state = self.venue.get_order(row.client_id, row.symbol)
        if state is not None and state.status == "filled":
            self.journal.update_order(row.client_id, status="filled", qty=state.qty)
            return "filled"
        return mine.status

    def _add_fill(self, row: OrderRow, f: Fill, comm: float) -> None:
        qty = row.filled_qty + f.qty
        avg = ((row.avg_price or 0.0) * row.filled_qty + f.price * f.qty) / qty
        status = "filled" if qty >= row.qty - 1e-9 else "partially_filled"
        self.journal.update_order(row.client_id, filled_qty=qty, avg_price=avg, status=status,
                                  commission=row.commission + comm, venue_id=f.venue_order_id, updated=f.time)

    def _record_leg(self, parent: OrderRow, kind: str, f: Fill, comm: float) -> None:
        cid = f.client_order_id or f"{parent.client_id}-{kind}"
        if self.journal.get_order(cid) is None:
            self.journal.record_order(OrderRow(
                client_id=cid, symbol=f.symbol, side=f.side, qty=f.qty,
                type="limit" if kind == "take_profit" else "stop", status="new",
                intent=kind, bar_time=parent.bar_time, model_version=parent.model_version,
                parent_id=parent.client_id, venue_id=f.venue_order_id, created=f.time,
                session_id=self.session_id))
        self._add_fill(self.journal.get_order(cid), f, comm)  # type: ignore[arg-type]

    def _arm(self, symbol: str, parent: str) -> None:
        armed = self.journal.get_state(ARMED_KEY, {})
        armed[symbol] = parent
        self.journal.put_state(ARMED_KEY, armed)

    def _disarm(self, symbol: str) -> None:
        armed = self.journal.get_state(ARMED_KEY, {})
        if armed.pop(symbol, None) is not None:
            self.journal.put_state(ARMED_KEY, armed)

    def armed(self) -> dict[str, str]:
        """Return symbol -> entry id of brackets whose exits are (believed) working."""
        return dict(self.journal.get_state(ARMED_KEY, {}))

    def _armed_parent(self, symbol: str) -> OrderRow | None:
        cid = self.armed().get(symbol)
        return self.journal.get_order(cid) if cid else None

    def _clock(self) -> pd.Timestamp | None:
        try:
            return self.venue.clock()
        except TransientVenueError:
            return None


def ticket_of(row: OrderRow) -> Ticket:
    """Return the ticket a journaled order was sent with."""
    return Ticket(row.client_id, row.symbol, row.side, row.qty, row.intent, row.type, row.limit_price,
                  row.stop_price, row.take_profit, row.stop_loss, row.trail_percent, row.bar_time,
                  row.model_version)


def _nearest_exit(parent: OrderRow, price: float) -> str:
    """Return which exit of ``parent`` a fill at ``price`` most likely was."""
    tp, sl = parent.take_profit, parent.stop_loss
    stop_kind = "trailing_stop" if parent.trail_percent else "stop_loss"
    if tp is None:
        return stop_kind
    if sl is None:
        return "take_profit"
    return "take_profit" if abs(price - tp) < abs(price - sl) else stop_kind
