"""Start-up reconciliation: bring the journal in line with the venue before trading.

The venue is the source of truth. In order:

1. orders journaled ``pending`` (written, maybe sent, before a crash) are looked up by client
   order id: found -> their venue state is journaled; absent and their bar already finished
   -> ``expired`` (never sent, decision stale); absent and their bar not finished -> left
   ``pending`` (the session re-decides that bar and sends it with the same id);
2. other open journaled orders get their venue status (filled or cancelled while we were away);
3. fills since the last journaled fill are journaled and attributed (bracket exits included);
4. bracket entries still working get their exits registered again (CCXT arms exits
   client-side and forgets them on restart), and every held position from a filled bracket
   entry whose exits are missing at the venue gets them placed anew (``-tp<n>``/``-sl<n>`` on
   CCXT, a stop alone elsewhere);
5. the venue's positions are compared with the journal's last snapshot (differences logged)
   and snapshotted; open venue orders the journal does not know are logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from loguru import logger

from bot.errors import OutcomeUnknownError
from bot.live.journal import Journal
from bot.live.router import NEVER_SENT, OrderRouter, leg_of, quote_commission
from bot.venues.base import VenueClient


@dataclass
class ReconcileReport:
    positions: dict[str, float]
    journal_positions: dict[str, float] | None
    found: list[str] = field(default_factory=list)  # pending orders the venue has
    expired: list[str] = field(default_factory=list)  # pending orders never sent, bar passed
    still_pending: list[str] = field(default_factory=list)
    updated: dict[str, str] = field(default_factory=dict)  # client id -> new status
    new_fills: int = 0
    rearmed: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)  # orders given journaled fills their rows lacked
    unknown_open: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)


def reconcile(
    venue: VenueClient,
    journal: Journal,
    router: OrderRouter,
    last_bar: pd.Timestamp | None,
    now: pd.Timestamp | None = None,
) -> ReconcileReport:
    """Bring ``journal`` in line with ``venue``; return what changed."""
    venue.sync()
    router.handle_exit_reports()
    held = venue.positions()
    report = ReconcileReport(positions=held, journal_positions=journal.last_positions())
    _pending(venue, journal, last_bar, report)
    for row in journal.orders(["new", "partially_filled"]):
        state = venue.get_order(row.client_id, row.symbol)
        if state is not None and state.status != row.status:
            report.updated[row.client_id] = state.status
    report.new_fills = len(router.sync_fills(queue=False))  # no live order of this run to notify
    report.repaired = _repair_fills(journal)
    for row in journal.orders(["new", "partially_filled"]):  # statuses after the fills
        state = venue.get_order(row.client_id, row.symbol)
        if state is not None:
            router.record_state(state)
    _rearm(venue, journal, router, held, report)
    _compare_positions(held, report)
    known = {r.client_id for r in journal.orders()}
    for o in venue.open_orders():
        leg = leg_of(o.client_order_id)
        if o.client_order_id not in known and not (leg and leg[0] in known):
            report.unknown_open.append(o.client_order_id)
    if report.unknown_open:
        logger.info(
            "open at the venue, not placed by this journal (bracket exits named by the venue, or manual): {}",
            ", ".join(report.unknown_open),
        )
    journal.snapshot_positions(now or venue.clock(), held, router.session_id)
    _log(report)
    return report


def _pending(venue: VenueClient, journal: Journal, last_bar: pd.Timestamp | None, report: ReconcileReport) -> None:
    for row in journal.orders(["pending"]):
        try:
            state = venue.resolve_order(row.client_id, row.symbol, row.created)
        except OutcomeUnknownError as err:
            logger.warning("order {}: outcome still unknown at the venue ({}); left pending", row.client_id, err)
            report.still_pending.append(row.client_id)
            continue
        if state is not None:
            journal.update_order(row.client_id, status=state.status, venue_id=state.venue_id, updated=state.updated)
            report.found.append(row.client_id)
        elif last_bar is not None and row.bar_time is not None and row.bar_time <= last_bar:
            journal.update_order(row.client_id, status="expired", error=NEVER_SENT)
            report.expired.append(row.client_id)
        else:
            report.still_pending.append(row.client_id)


def _repair_fills(journal: Journal) -> list[str]:
    """Give orders the journaled fills they lack (a journal written before fills and their orders
    were updated in one transaction may hold a fill whose order row never saw it)."""
    by_order: dict[str | None, list] = {}
    for f in journal.fills():
        by_order.setdefault(f.client_order_id, []).append(f)
    repaired: list[str] = []
    for cid, fills in by_order.items():
        if not cid:
            continue
        row = journal.get_order(cid)
        qty = sum(f.qty for f in fills)
        if row is None or qty <= row.filled_qty + 1e-12:
            continue
        avg = sum(f.qty * f.price for f in fills) / qty
        status = "filled" if qty >= row.qty - 1e-9 else "partially_filled"
        journal.update_order(
            cid,
            filled_qty=qty,
            avg_price=avg,
            status=status,
            commission=sum(quote_commission(f) for f in fills),
            updated=fills[-1].time,
        )
        repaired.append(cid)
        logger.warning("order {}: {} journaled fill(s) were missing from its row; repaired", cid, len(fills))
    return repaired


def _rearm(
    venue: VenueClient, journal: Journal, router: OrderRouter, held: dict[str, float], report: ReconcileReport
) -> None:
    """Make sure every held position from a bracket entry has its exits working at the venue.

    Entries still working get their exits registered again (venues that arm exits client-side
    forget them on restart); the entry behind a held position whose exits are missing at the
    venue (armed or not: the process may have died between the fill and the arming) gets them
    placed anew.
    """
    for row in journal.orders(["new", "partially_filled"]):
        if (
            row.parent_id is None
            and row.intent == "entry"
            and (row.take_profit is not None or row.stop_loss is not None)
        ):
            router.register_exits(row)
    open_ids = {o.client_order_id for o in venue.open_orders()}
    for symbol, qty in held.items():
        entry = router.holding_entry(symbol, qty)
        if entry is None:
            continue
        legs = {r.client_id for r in journal.orders(symbol=symbol) if r.parent_id == entry.client_id}
        if any(cid in legs or (leg_of(cid) or ("",))[0] == entry.client_id for cid in open_ids):
            continue
        router.rearm(entry, qty)
        report.rearmed.append(entry.client_id)


def _compare_positions(held: dict[str, float], report: ReconcileReport) -> None:
    before = report.journal_positions
    if before is None:
        return
    for sym in sorted(set(before) | set(held)):
        a, b = before.get(sym, 0.0), held.get(sym, 0.0)
        if abs(a - b) > 1e-9 * max(1.0, abs(b)):
            report.differences.append(f"{sym}: journal {a:g}, venue {b:g}")


def _log(r: ReconcileReport) -> None:
    logger.info(
        "reconciled with the venue: positions {}, {} new fills, {} status changes",
        r.positions or "flat",
        r.new_fills,
        len(r.updated),
    )
    for cid in r.found:
        logger.info("order {} was sent before the last run ended; the venue has it", cid)
    for cid in r.expired:
        logger.warning("order {} was journaled but never reached the venue; its bar has passed: expired", cid)
    for cid, status in r.updated.items():
        logger.info("order {} is now {} at the venue", cid, status)
    for line in r.differences:
        logger.warning("position differs from the journal (the venue wins): {}", line)
    if r.rearmed:
        logger.info("bracket exits re-registered for {}", ", ".join(r.rearmed))
