"""The venue-facing half of the live broker: journal, send, track (no Backtrader here).

:meth:`OrderRouter.send` writes the order to the journal (status ``pending``) *before* it is
sent, then submits it idempotently by its deterministic client order id. A refused order is
journaled ``rejected`` and skipped; a send whose outcome stays unknown after the venue client's
retries stays ``pending``. On the next :meth:`poll` it is resolved by the venue client's
``resolve_order`` (lookups over a grace period and, where a venue lets a client id be reused,
the account's trades since the send) before anything is resent, and resent only while its bar
is current.

:meth:`poll` returns what happened at the venue since the last call as :class:`OrderEvent`s:
one event per venue trade (its own price and commission in the quote currency) and final
statuses. A fill, the order status it implies and the armed exits are journaled in one
transaction with no venue call in between, so a venue error or a killed process cannot lose
the fill's consequences.

Every order the bot makes the venue hold is an order row: bracket exits are rows with
``parent_id`` = the entry (``<entry>-tp`` / ``-sl`` / ``-ts`` named by the bot on paper and
CCXT; on Alpaca the venue names the legs and they are learned from the entry's state). Exits
placed again later are ``<entry>-tp<n>`` / ``-sl<n>``; protective fallbacks ``<entry>-fs<n>``
(a stop alone) and ``<entry>-fl<n>`` (flatten at market).

Exit problems reported by the venue client (CCXT arms exits client-side after the entry
fills) never escape :meth:`poll`: a rejected exit is journaled, alerted and handled as
``on_exit_rejected`` says (``stop_only``: a stop alone, and if that is refused too, flatten;
``flatten``; ``alert``: leave the position unprotected and say so); a transient failure is
retried once per poll, alerting once it has failed ``alert_after`` polls in a row.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Set
from contextlib import contextmanager, nullcontext
from typing import Any

import pandas as pd
from loguru import logger

from bot.errors import (
    FatalVenueError,
    OrderRejectedError,
    OutcomeUnknownError,
    TransientVenueError,
    VenueError,
)
from bot.instruments import split_pair
from bot.live.journal import FINAL, Journal, OrderRow
from bot.orders import OrderEvent, OrderRequest, Side
from bot.venues.base import VenueClient
from bot.venues.types import Fill, OrderState

CLOCK_TTL = 300.0  # s: the venue clock is read at every poll; an older reading is read again before use
ARMED_KEY = "armed_brackets"
NEVER_SENT = "never reached the venue"  # the error of an order journaled expired because the venue lacks it
UNPROTECTED_KEY = "unprotected"
_LEG = re.compile(r"^(?P<entry>.+)-(?P<kind>tp|sl|ts|fs|fl)(?P<gen>\d*)$")
_KINDS = {"tp": "take_profit", "sl": "stop_loss", "ts": "trailing_stop", "fs": "stop_loss", "fl": "flatten"}
EXIT_INTENTS = ("take_profit", "stop_loss", "trailing_stop", "flatten")
Alert = Callable[[str, str, str], Any]


STRATEGY_INTENTS = ("entry", "exit", "rebalance")  # orders the strategy made (not exit legs)


def leg_of(client_order_id: str | None) -> tuple[str, str] | None:
    """Return (entry id, exit kind) for an exit id like ``<entry>-tp`` or ``<entry>-fs2``, else None."""
    match = _LEG.match(client_order_id or "")
    return (match["entry"], _KINDS[match["kind"]]) if match else None


def quote_commission(fill: Fill) -> float:
    """Return the fill's commission in the quote currency.

    The venue client's valuation wins (a third asset such as BNB at the venue's price); a
    base-asset fee is valued at the fill price; a third-asset fee of unknown value counts 0
    (it stays journaled in its own asset, and a warning says so).
    """
    if fill.commission_quote is not None:
        return fill.commission_quote
    base, quote = split_pair(fill.symbol)
    if fill.commission_asset is not None and fill.commission_asset == base:
        return fill.commission * fill.price
    if fill.commission and fill.commission_asset not in (None, quote, "USD"):
        logger.warning(
            "fill {}: fee {:g} {} has no known value in the quote currency; journaled as such",
            fill.trade_id,
            fill.commission,
            fill.commission_asset,
        )
        return 0.0
    return fill.commission


class OrderRouter:
    """Journal-first order placement and tracking on one venue."""

    def __init__(
        self,
        venue: VenueClient,
        journal: Journal,
        session_id: int | None = None,
        since: pd.Timestamp | None = None,
        *,
        on_exit_rejected: str = "stop_only",
        alert: Alert | None = None,
        alert_after: int = 3,
        cancel_wait: float = 2.0,
    ):
        self.venue, self.journal, self.session_id = venue, journal, session_id
        self._since = since  # fills before this time belong to earlier sessions (reconciliation)
        self._trailing = bool(getattr(venue, "supports_trailing", False))
        self._unreported: list[OrderEvent] = []
        self.on_exit_rejected, self.alert_after, self.cancel_wait = on_exit_rejected, alert_after, cancel_wait
        self._alert = alert
        self._exit_failures: dict[str, int] = {}
        self._bare_last: dict[str, tuple[OrderRow, float]] = {}
        self._batch: tuple[list[OrderRow], dict[str, dict[str, Any]]] | None = None  # see batch()
        self._ahead: dict[str, OrderRow] = {}  # journaled pending by journal_ahead, not sent yet
        self._declared_unknown: set[str] = set()  # journaled unprotected by guard_exits while a sell was unknown
        self._clock_read: tuple[pd.Timestamp, float] | None = None  # (venue time, local monotonic time)

    # ---- placing ------------------------------------------------------------------------
    @contextmanager
    def batch(self) -> Iterator[None]:
        """Journal what the venue answers to the sends inside in one transaction at the end (and
        let a venue that persists itself, the paper venue, save once): a process killed inside
        leaves those orders ``pending``, resolved at the venue before anything is resent."""
        if self._batch is not None:
            yield
            return
        self._batch = ([], {})
        hold = getattr(self.venue, "hold_saves", None)
        try:
            with hold() if hold is not None else nullcontext():
                yield
        finally:
            new_rows, updates = self._batch
            self._batch = None
            if new_rows or updates:
                self.journal.apply_orders(new_rows, updates)

    def journal_ahead(self, tickets: list[OrderRequest]) -> None:
        """Journal new ``tickets`` as ``pending`` in one transaction; :meth:`send` then submits
        them without a lookup (this process wrote them and has not sent them yet)."""
        rows = [self._pending_row(t) for t in tickets if self.journal.get_order(t.client_order_id) is None]
        if rows:
            self.journal.apply_orders(rows, {})
            self._ahead.update((r.client_id, r) for r in rows)

    def send(self, t: OrderRequest) -> OrderState | None:
        """Journal, then submit ``t``; return the venue's state, or None if refused/unknown.

        An id the journal already holds was (maybe) sent before: it is resolved at the venue
        first and submitted only if the venue surely does not have it.
        """
        ahead = self._ahead.pop(t.client_order_id, None)
        if ahead is not None:
            return self._submit(t, ahead)
        known = self.journal.get_order(t.client_order_id)
        if known is not None:
            return self._send_known(known, t)
        row = self._pending_row(t)
        self.journal.record_order(row)
        return self._submit(t, row)

    def _pending_row(self, t: OrderRequest) -> OrderRow:
        return OrderRow(
            client_id=t.client_order_id,
            symbol=t.symbol,
            side=t.side,
            qty=float(t.qty),
            type=t.type,
            status="pending",
            intent=t.intent,
            bar_time=t.bar_time,
            model_version=t.model_version,
            parent_id=t.parent_id,
            limit_price=t.limit_price,
            stop_price=t.stop_price,
            take_profit=t.take_profit,
            stop_loss=t.stop_loss,
            trail_percent=t.trail_percent,
            created=self._clock(),
            session_id=self.session_id,
        )

    def _send_known(self, row: OrderRow, t: OrderRequest) -> OrderState | None:
        if row.status in ("rejected", "expired"):
            return None
        try:
            state = self.venue.resolve_order(row.client_id, row.symbol, row.created)
        except OutcomeUnknownError as err:
            logger.warning("order {}: outcome still unknown ({}); not resending", row.client_id, err)
            return None
        if state is not None:
            self._learn_order(state, row)
            return state
        if row.status != "pending":
            logger.warning("order {} is journaled {} but the venue does not show it", row.client_id, row.status)
            return None
        return self._submit(t)

    def _submit(self, t: OrderRequest, row: OrderRow | None = None) -> OrderState | None:
        try:
            if t.trail_percent and self._trailing:
                # only a venue that trails stops (_trailing: PaperVenue) takes trail_percent
                state = self.venue.submit_order(t, trail_percent=t.trail_percent)  # type: ignore[call-arg]
            else:
                state = self.venue.submit_order(t)
        except OrderRejectedError as err:
            logger.warning("order {} {} {} {} rejected: {}", t.client_order_id, t.side, t.qty, t.symbol, err)
            self.journal.update_order(t.client_order_id, status="rejected", error=str(err)[:400])
            if t.intent == "exit":
                self._restore_exits(t.symbol)
            return None
        except TransientVenueError as err:
            logger.warning("order {}: outcome unknown after retries ({}); will look it up", t.client_order_id, err)
            return None
        if row is not None:  # just journaled as it is: no need to read it back
            self._learn_order(state, row)
        else:
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
        """Cancel the venue's resting ``side`` exits on ``symbol`` (ours or left by an earlier run).

        Returns the ids asked to cancel. Venues may cancel asynchronously (Alpaca answers
        ``pending_cancel``, and the exit keeps holding the shares until it is final): use
        :meth:`exits_cleared` before sending an order that needs those shares.
        """
        done = []
        ours = {r.client_id: r for r in self.journal.orders(symbol=symbol)}
        for o in self.venue.open_orders():
            row = ours.get(o.client_order_id)
            if o.symbol != symbol or o.side != side or (row is not None and row.intent in STRATEGY_INTENTS):
                continue
            state = self.venue.cancel_order(o.client_order_id, symbol)
            if state is not None:
                self._learn_order(state, ours.get(o.client_order_id))
            done.append(o.client_order_id)
        if done:
            logger.info("{}: cancelling resting exits {}", symbol, ", ".join(done))
        self._disarm(symbol)
        return done

    def exits_cleared(self, symbol: str, ids: list[str], wait: float | None = None) -> bool:
        """Return True once none of ``ids`` is open at the venue (waiting up to ``wait`` s)."""
        deadline = time.monotonic() + (self.cancel_wait if wait is None else wait)
        while True:
            still = [cid for cid in ids if (s := self.venue.get_order(cid, symbol)) is not None and s.is_open]
            for cid in ids:
                if cid not in still and (s := self.venue.get_order(cid, symbol)) is not None:
                    self._learn_order(s, self.journal.get_order(cid))
            if not still or time.monotonic() >= deadline:
                return not still
            time.sleep(0.05)

    # ---- tracking -----------------------------------------------------------------------
    def poll(self, current_bar: pd.Timestamp | None = None) -> list[OrderEvent]:
        """Return new fills and final statuses; resolve orders whose send outcome was unknown.

        One order's trouble (a venue error while checking it) is logged and leaves the rest of
        the poll to go on; events found before a venue error are kept and returned by the next
        successful call.
        """
        self.venue.sync()
        self._read_clock()
        self.handle_exit_reports()
        self.sync_fills()
        for row in self.journal.open_orders():
            try:
                self._unreported += self._check(row, current_bar)
            except (FatalVenueError, TransientVenueError):
                raise
            except VenueError as err:
                logger.warning("order {}: could not check it at the venue: {}", row.client_id, err)
        events, self._unreported = self._unreported, []
        return events

    def sync_fills(self, queue: bool = True) -> list[OrderEvent]:
        """Journal new venue fills; return the events they make (``queue``: also for :meth:`poll`)."""
        last = self.journal.last_fill_time()
        since = max(t for t in (last, self._since) if t is not None) if (last or self._since) else None
        events = []
        for f in self.venue.fills(since):
            if self.journal.has_fill(f.trade_id):
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
            update = _fill_update(row, f, comm)
            armed = self.armed()
            if (row.take_profit is not None or row.stop_loss is not None) and row.intent == "entry":
                armed[row.symbol] = row.client_id
            self.journal.apply_fill(f, self.session_id, {row.client_id: update}, {ARMED_KEY: armed})
            return OrderEvent(row.client_id, update["status"], f.qty, f.price, comm, f.time)
        parent, kind = self._exit_parent(f, row)
        if parent is None:
            self.journal.apply_fill(f, self.session_id, {}, {})
            logger.warning("fill {} of {} {} {} is not from an order of this bot", f.trade_id, f.side, f.qty, f.symbol)
            return None
        cid = f.client_order_id or f"{parent.client_id}-{kind}"
        leg = (
            row
            or self.journal.get_order(cid)
            or OrderRow(
                client_id=cid,
                symbol=f.symbol,
                side=f.side,
                qty=f.qty,
                type="limit" if kind == "take_profit" else "stop",
                status="new",
                intent=kind,
                bar_time=parent.bar_time,
                model_version=parent.model_version,
                parent_id=parent.client_id,
                venue_id=f.venue_order_id,
                created=f.time,
                session_id=self.session_id,
            )
        )
        update = _fill_update(leg, f, comm)
        armed = self.armed()
        if update["status"] == "filled" and armed.get(f.symbol) == parent.client_id:
            armed.pop(f.symbol)
        self.journal.apply_fill(
            f,
            self.session_id,
            {cid: update},
            {ARMED_KEY: armed},
            new_rows=[] if row is not None or self.journal.get_order(cid) else [leg],
        )
        if update["status"] != "filled":
            self._protect_remainder(parent, leg)
        return OrderEvent(parent.client_id, update["status"], f.qty, f.price, comm, f.time, leg=kind)

    def _exit_parent(self, f: Fill, row: OrderRow | None) -> tuple[OrderRow | None, str]:
        """Return the entry an exit fill belongs to, and the exit kind."""
        if row is not None and row.parent_id is not None:
            return self.journal.get_order(row.parent_id), row.intent
        leg = leg_of(f.client_order_id)
        parent = self.journal.get_order(leg[0]) if leg else None
        if parent is not None and leg:
            return parent, leg[1]
        parent = self._armed_parent(f.symbol)  # a venue-named exit of the armed bracket
        return parent, (_nearest_exit(parent, f.price) if parent is not None else "")

    def _check(self, row: OrderRow, current_bar: pd.Timestamp | None) -> list[OrderEvent]:
        state = self.venue.get_order(row.client_id, row.symbol)
        if state is None and row.status == "pending":
            return self._resolve_pending(row, current_bar)
        if state is None:
            return []
        before = row.status
        self._learn_order(state, row)
        after = self.journal.get_order(row.client_id)
        if row.parent_id is not None:
            return []
        if state.status in ("canceled", "rejected"):
            return [OrderEvent(row.client_id, state.status)]
        if (
            after is not None
            and after.status == "filled"
            and before != "filled"
            and after.filled_qty > 0
            and abs(after.filled_qty - state.filled_qty) < 1e-12
        ):
            return [OrderEvent(row.client_id, "filled")]  # the venue filled a rounded size: complete it
        return []

    def _resolve_pending(self, row: OrderRow, current_bar: pd.Timestamp | None) -> list[OrderEvent]:
        """An order journaled but not found: find out whether it exists before resending it."""
        try:
            state = self.venue.resolve_order(row.client_id, row.symbol, row.created)
        except OutcomeUnknownError as err:
            logger.warning("order {}: still unknown at the venue ({}); not resending", row.client_id, err)
            return []
        if state is not None:
            self._learn_order(state, row)
            if row.parent_id is not None and state.is_open:  # an exit that landed after all
                self._arm(state.symbol, row.parent_id)
                self._clear_unprotected(state.symbol)
            return []
        if row.parent_id is not None:  # an exit (or fallback) the venue surely does not have
            self.journal.update_order(row.client_id, status="expired", error=NEVER_SENT)
            return []
        if current_bar is not None and row.bar_time == current_bar:
            logger.info("order {} never reached the venue; sending it now", row.client_id)
            self.resend(row)
            return []
        logger.warning("order {} never reached the venue and its bar has passed: expired", row.client_id)
        self.journal.update_order(row.client_id, status="expired")
        return [] if row.parent_id else [OrderEvent(row.client_id, "expired")]

    # ---- exits: rows, problems, protection ----------------------------------------------
    def handle_exit_reports(self) -> None:
        """Journal exits the venue client placed or failed to place, and act on failures."""
        drain = getattr(self.venue, "exit_reports", None)
        for report in drain() if drain is not None else []:
            try:
                self._on_exit_report(report)
            except (FatalVenueError, TransientVenueError):
                raise
            except VenueError as err:
                logger.warning("exits of {}: {}", report.entry_id, err)

    def _on_exit_report(self, report: Any) -> None:
        entry = self.journal.get_order(report.entry_id)
        if entry is None:
            return
        if report.kind == "placed":
            self._exit_failures.pop(entry.client_id, None)
            for leg in report.legs:
                self._learn_order(leg, self.journal.get_order(leg.client_order_id), parent=entry)
            self._arm(entry.symbol, entry.client_id)
            self._clear_unprotected(entry.symbol)
            return
        for cid, kind, price in report.intended if report.kind == "rejected" or report.maybe_placed else ():
            row = _exit_row(entry, cid, kind, price, report.qty, self.session_id, self._clock() or entry.updated)
            row.status = "pending"  # a failed send may have reached the venue: looked up until resolved
            self.journal.record_order(row)
            if report.kind == "rejected" and not report.maybe_placed:
                self.journal.update_order(cid, status="rejected", error=str(report.error)[:400])
        if report.kind == "rejected":
            self._exit_failures.pop(entry.client_id, None)
            self._raise_alert(entry.symbol, f"exits of {entry.client_id} rejected by the venue", str(report.error))
            self.protect(entry, report.qty, self.on_exit_rejected)
            return
        n = self._exit_failures[entry.client_id] = self._exit_failures.get(entry.client_id, 0) + 1
        if n == self.alert_after:
            self._raise_alert(entry.symbol, f"exits of {entry.client_id} not placed after {n} polls", str(report.error))

    def protect(self, entry: OrderRow, qty: float, mode: str) -> OrderState | None:
        """Protect a held position whose exits are gone: a stop alone (``stop_only``) or flatten."""
        held = _held_by(entry, self.venue.positions().get(entry.symbol, 0.0))
        qty = min(abs(qty), held)
        if qty <= 0:
            self._clear_unprotected(entry.symbol)
            return None
        if mode == "stop_only" and entry.stop_loss is not None:
            state = self.send(self._fallback(entry, "fs", qty, type="stop", stop_price=entry.stop_loss))
            if state is not None:
                self._arm(entry.symbol, entry.client_id)
                self._clear_unprotected(entry.symbol)
                return state
            mode = "flatten"
        if mode == "flatten":
            state = self.send(self._fallback(entry, "fl", qty))
            if state is not None:
                self._clear_unprotected(entry.symbol)
                return state
        what = "short" if entry.side == "sell" else "long"
        self._raise_alert(entry.symbol, f"{entry.symbol} held without exits", f"{qty:g} {what} from {entry.client_id}")
        return None

    def _restore_exits(self, symbol: str) -> None:
        """A sell exit was refused after the resting exits were cancelled for it: put a stop back."""
        entry = self.holding_entry(symbol)
        if entry is None:
            return
        side = exit_side(entry.side)
        resting = [o for o in self.venue.open_orders() if o.symbol == symbol and o.side == side]
        if not resting:
            logger.warning("{}: the exit was refused and no exit rests at the venue: protecting the position", symbol)
            self.protect(entry, self.venue.positions().get(symbol, 0.0), "stop_only")

    def register_exits(self, entry: OrderRow, generation: int = 0) -> None:
        """Have a venue that arms exits client-side arm ``entry``'s once it fills (no-op elsewhere)."""
        register = getattr(self.venue, "register_exits", None)
        if register is not None:
            register(ticket_of(entry), generation)

    def rearm(self, entry: OrderRow, qty: float) -> None:
        """Place a held position's missing exits anew: the whole bracket where the venue client
        arms exits itself (new ids ``-tp<n>``/``-sl<n>``), else a stop alone."""
        if getattr(self.venue, "register_exits", None) is None:
            logger.warning("{}: exits of {} are missing at the venue; placing a stop", entry.symbol, entry.client_id)
            self.protect(entry, qty, "stop_only")
            return
        gens = [
            int(m["gen"] or 0)
            for r in self.journal.orders(symbol=entry.symbol)
            if r.parent_id == entry.client_id and (m := _LEG.match(r.client_id))
        ]
        logger.warning("{}: exits of {} are missing at the venue; arming them again", entry.symbol, entry.client_id)
        self.register_exits(entry, max(gens) + 1 if gens else 0)

    def _fallback(self, entry: OrderRow, kind: str, qty: float, **kw: Any) -> OrderRequest:
        taken = {r.client_id for r in self.journal.orders(symbol=entry.symbol) if r.parent_id == entry.client_id}
        n = next(i for i in range(1, 10_000) if f"{entry.client_id}-{kind}{i}" not in taken)
        return OrderRequest(
            f"{entry.client_id}-{kind}{n}",
            entry.symbol,
            exit_side(entry.side),
            qty,
            intent=_KINDS[kind],
            bar_time=entry.bar_time,
            model_version=entry.model_version,
            parent_id=entry.client_id,
            **kw,
        )

    def _protect_remainder(self, entry: OrderRow, leg: OrderRow) -> None:
        """A leg filled in part: if no stop is working for the rest, give it one."""
        if leg.intent != "take_profit":
            return  # a triggered stop is a market order: the rest is on its way out
        open_ids = {o.client_order_id for o in self.venue.open_orders() if o.symbol == entry.symbol}
        stops = [
            r
            for r in self.journal.orders(symbol=entry.symbol)
            if r.parent_id == entry.client_id and r.intent == "stop_loss" and r.client_id in open_ids
        ]
        if stops:
            return
        if leg.client_id in open_ids:
            self.cancel(leg.client_id, entry.symbol)
            self.exits_cleared(entry.symbol, [leg.client_id])
        logger.warning(
            "{}: take-profit {} filled in part and its stop expired: protecting the rest", entry.symbol, leg.client_id
        )
        self.protect(entry, self.venue.positions().get(entry.symbol, 0.0), self.on_exit_rejected)

    def guard_exits(
        self, held: Mapping[str, float], busy: Set[str] = frozenset(), dust: Callable[[str, float], bool] | None = None
    ) -> list[str]:
        """Protect bracket positions that have no working exits at two successive checks.

        The safety net under every path that can leave a position bare (a partly filled stop
        whose rest was cancelled for a sell that then failed, an exit the venue dropped): for
        each symbol in ``held`` (signed venue sizes, dust removed by the caller) whose holding
        entry had a stop or take-profit, the open exit-side orders at the venue (sells for a
        long, buys for a short) must cover the size. A
        symbol in ``busy`` (an exit of the strategy on its way), already journaled unprotected,
        with an exit order whose outcome is being resolved, or whose exits the venue client is
        still arming, is left alone; so is an uncovered rest that ``dust(symbol, qty)`` calls
        dust. One check of grace absorbs venues that list a new order late. A bare position
        whose exit's send is still unknown (Binance: until the recvWindow has passed) is journaled
        unprotected and alerted at once, and protected once that exit proves absent. A symbol
        journaled unprotected that is flat now is unprotected no more. Returns the symbols
        protected now.
        """
        for sym in self.unprotected():
            if held.get(sym, 0.0) == 0:
                self._clear_unprotected(sym)
        bare = self._bare(held, busy, dust or (lambda _s, _q: False))
        due = [sym for sym in bare if sym in self._bare_last]
        self._bare_last = bare
        for sym in due:
            entry, qty = bare[sym]
            logger.warning("{}: {:g} held without working exits: protecting it ({})", sym, qty, self.on_exit_rejected)
            self.protect(entry, qty, self.on_exit_rejected)
        return due

    def _bare(
        self, held: Mapping[str, float], busy: Set[str], dust: Callable[[str, float], bool]
    ) -> dict[str, tuple[OrderRow, float]]:
        """Return symbol -> (holding entry, uncovered size) for positions lacking exits now."""
        declared = self.unprotected()
        candidates = {
            s: q
            for s, q in held.items()
            if q != 0 and s not in busy and (s not in declared or s in self._declared_unknown)
        }
        if not candidates:
            return {}
        arming = getattr(self.venue, "arming", None)
        unknown_exits: dict[tuple[str, str], list[str]] = {}  # (symbol, side) -> sends being resolved
        for r in self.journal.open_orders():
            if r.status == "pending":
                unknown_exits.setdefault((r.symbol, r.side), []).append(r.client_id)
        resting: dict[tuple[str, str], list[OrderState]] = {}
        for o in self.venue.open_orders():
            resting.setdefault((o.symbol, o.side), []).append(o)
        out = {}
        for sym, signed in candidates.items():
            qty, side = abs(signed), "sell" if signed > 0 else "buy"  # the side that exits the position
            entry = self.holding_entry(sym, signed)
            if (
                entry is None
                or entry.client_id in self._exit_failures
                or (arming is not None and arming(entry.client_id))
            ):
                continue
            uncovered = qty - _covered(resting.get((sym, side), []))
            if uncovered <= 1e-9 * max(1.0, qty) or dust(sym, uncovered):
                self._declared_unknown.discard(sym)
                continue
            unknown = unknown_exits.get((sym, side))
            if unknown:  # an exit whose send outcome is being resolved: it may have filled; a stop may not fit
                if sym not in declared:
                    self._raise_alert(
                        sym,
                        f"{sym} held without exits while the outcome of {', '.join(unknown)} is unknown",
                        f"{uncovered:g} uncovered",
                    )
                    self._declared_unknown.add(sym)
                continue
            out[sym] = (entry, uncovered)
        return out

    def unprotected(self) -> dict[str, str]:
        """Return symbol -> why, for positions journaled as held without working exits."""
        return dict(self.journal.get_state(UNPROTECTED_KEY, {}))

    def _raise_alert(self, symbol: str, title: str, text: str) -> None:
        state = self.unprotected()
        state[symbol] = f"{title}: {text}"[:300]
        self.journal.put_state(UNPROTECTED_KEY, state)
        logger.error("{}: position unprotected: {}: {}", symbol, title, text)
        if self._alert is not None:
            self._alert("critical", title, text)

    def _clear_unprotected(self, symbol: str) -> None:
        self._declared_unknown.discard(symbol)
        state = self.unprotected()
        if state.pop(symbol, None) is not None:
            self.journal.put_state(UNPROTECTED_KEY, state)

    # ---- journal helpers ------------------------------------------------------------------
    def record_state(self, s: OrderState) -> None:
        """Journal what the venue says of one of our orders (and the exit legs it carries)."""
        row = self.journal.get_order(s.client_order_id)
        if row is not None:
            self._learn_order(s, row)

    def _learn_order(self, s: OrderState, row: OrderRow | None, parent: OrderRow | None = None) -> None:
        """Journal what the venue says of an order and of the exit legs it carries, in one transaction."""
        new_rows: list[OrderRow] = []
        updates: dict[str, dict[str, Any]] = {}
        self._changes(s, row, parent, new_rows, updates)
        if self._batch is not None:  # journaled at the end of the batch, in one transaction
            self._batch[0].extend(new_rows)
            for cid, change in updates.items():
                self._batch[1].setdefault(cid, {}).update(change)
        elif new_rows or updates:
            self.journal.apply_orders(new_rows, updates)

    def _changes(
        self,
        s: OrderState,
        row: OrderRow | None,
        parent: OrderRow | None,
        new_rows: list[OrderRow],
        updates: dict[str, dict[str, Any]],
    ) -> None:
        if row is None and parent is not None:
            row = _exit_row(
                parent,
                s.client_order_id,
                _leg_kind(s, parent),
                s.limit_price or s.stop_price,
                s.qty,
                self.session_id,
                s.created or parent.updated,
            )
            new_rows.append(row)
        if row is None:
            return
        status = s.status
        if status == "filled" and row.filled_qty + 1e-12 < s.filled_qty:
            status = "partially_filled"  # filled at the venue; its fills are journaled by poll()
        changes: dict[str, Any] = dict(venue_id=s.venue_id, updated=s.updated)
        inferred = row.status == "expired" and (row.error or "").startswith(NEVER_SENT)  # our belief, not the venue's
        if inferred or not (row.status in FINAL and row.status != "filled" and status != row.status):
            changes["status"] = status
        if s.qty and abs(s.qty - row.qty) > 1e-12 and row.filled_qty <= s.qty + 1e-12:
            changes["qty"] = s.qty  # the venue rounded the size to its increment
            if status == "filled" and abs(row.filled_qty - s.filled_qty) < 1e-12:
                changes["status"] = "filled"
        changed = {k: v for k, v in changes.items() if getattr(row, k) != v}
        if changed:
            updates[s.client_order_id] = changed
        for leg in s.legs:  # exits the venue created with this order (Alpaca bracket legs)
            self._changes(leg, self.journal.get_order(leg.client_order_id), row, new_rows, updates)

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

    def armed_entry(self, symbol: str) -> OrderRow | None:
        """Return the entry whose exits are (believed) working on ``symbol``."""
        cid = self.armed().get(symbol)
        return self.journal.get_order(cid) if cid else None

    _armed_parent = armed_entry

    def holding_entry(self, symbol: str, held: float | None = None) -> OrderRow | None:
        """Return the bracket entry that opened the position held on ``symbol`` (signed: a buy
        entry for a long, a sell entry for a short): the latest filled entry of that side, with
        no exit filled since (None if flat or the position is not a bracket's)."""
        held = self.venue.positions().get(symbol, 0.0) if held is None else held
        if held == 0:
            return None
        side = "buy" if held > 0 else "sell"
        rows = self.journal.orders(symbol=symbol)
        entries = [
            r for r in rows if r.side == side and r.parent_id is None and r.filled_qty > 0 and r.intent == "entry"
        ]
        last = entries[-1] if entries else None
        if last is None or (last.stop_loss is None and last.take_profit is None):
            return None
        since = last.updated or last.created
        exited = any(
            r.side == exit_side(side)
            and r.status == "filled"
            and r.filled_qty > 0
            and since is not None
            and r.updated is not None
            and r.updated >= since
            for r in rows
        )
        return None if exited else last

    def _clock(self) -> pd.Timestamp | None:
        """Return a venue time at or before now: the last reading of the venue's clock (taken at
        each poll; read anew when older than CLOCK_TTL s). An order journaled with it as
        ``created`` is resolved against every trade since then, so an earlier time is the safe
        side; it spares a request to the venue (Alpaca /v2/clock, Binance /time) per order."""
        if self._clock_read is not None and time.monotonic() - self._clock_read[1] < CLOCK_TTL:
            return self._clock_read[0]
        return self._read_clock()

    def _read_clock(self) -> pd.Timestamp | None:
        try:
            value = self.venue.clock()
        except TransientVenueError:
            return self._clock_read[0] if self._clock_read is not None else None
        self._clock_read = (value, time.monotonic())
        return value


def exit_side(entry_side: str) -> Side:
    """Return the side that exits a position opened by an ``entry_side`` order."""
    return "sell" if entry_side == "buy" else "buy"


def _held_by(entry: OrderRow, held: float) -> float:
    """Return how much of the signed holding ``held`` is on ``entry``'s side (0 if none)."""
    if (held > 0 and entry.side == "buy") or (held < 0 and entry.side == "sell"):
        return abs(held)
    return 0.0


def ticket_of(row: OrderRow) -> OrderRequest:
    """Return the ticket a journaled order was sent with."""
    return OrderRequest(
        row.client_id,
        row.symbol,
        row.side,  # type: ignore[arg-type]  # the journal holds str; OrderRequest.__post_init__ validates it
        row.qty,
        row.type,  # type: ignore[arg-type]  # (likewise)
        row.limit_price,
        row.stop_price,
        row.take_profit,
        row.stop_loss,
        row.trail_percent,
        row.intent,
        row.bar_time,
        row.model_version,
        row.parent_id,
    )


def _fill_update(row: OrderRow, f: Fill, comm: float) -> dict[str, Any]:
    """Return the order changes one trade makes: cumulative size, average price, commission."""
    qty = row.filled_qty + f.qty
    avg = ((row.avg_price or 0.0) * row.filled_qty + f.price * f.qty) / qty
    status = "filled" if qty >= row.qty - 1e-9 else "partially_filled"
    return dict(
        filled_qty=qty,
        avg_price=avg,
        status=status,
        commission=row.commission + comm,
        venue_id=f.venue_order_id,
        updated=f.time,
    )


def _exit_row(
    entry: OrderRow,
    cid: str,
    kind: str,
    price: float | None,
    qty: float,
    session_id: int | None,
    created: pd.Timestamp | None,
) -> OrderRow:
    return OrderRow(
        client_id=cid,
        symbol=entry.symbol,
        side="sell" if entry.side == "buy" else "buy",
        qty=qty,
        type="limit" if kind == "take_profit" else "stop",
        status="new",
        intent=kind,
        bar_time=entry.bar_time,
        model_version=entry.model_version,
        parent_id=entry.client_id,
        limit_price=price if kind == "take_profit" else None,
        stop_price=price if kind != "take_profit" else None,
        created=created,
        session_id=session_id,
    )


def _leg_kind(s: OrderState, parent: OrderRow) -> str:
    leg = leg_of(s.client_order_id)
    if leg is not None:
        return leg[1]
    return "take_profit" if s.limit_price is not None else "stop_loss"


def _covered(exits: list[OrderState]) -> float:
    """Return the size open exit orders (one side) would trade: market orders, plus the larger
    of the stop side and the limit side (an OCO's or a bracket's two legs trade the same shares
    once)."""
    left = [(o, max(o.qty - o.filled_qty, 0.0)) for o in exits if o.is_open]
    market = sum(q for o, q in left if o.stop_price is None and o.limit_price is None)
    stops = sum(q for o, q in left if o.stop_price is not None)
    limits = sum(q for o, q in left if o.stop_price is None and o.limit_price is not None)
    return market + max(stops, limits)


def _nearest_exit(parent: OrderRow, price: float) -> str:
    """Return which exit of ``parent`` a fill at ``price`` most likely was."""
    tp, sl = parent.take_profit, parent.stop_loss
    stop_kind = "trailing_stop" if parent.trail_percent else "stop_loss"
    if tp is None:
        return stop_kind
    if sl is None:
        return "take_profit"
    return "take_profit" if abs(price - tp) < abs(price - sl) else stop_kind
