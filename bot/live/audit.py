"""The journal audit: does the journal say what the venue says?

``python -m bot.live audit --config CFG`` (and :func:`log_audit` at the end of a session) compares
the journal with the venue since the journal's first session started:

- ``order-not-journaled``: a venue order (bracket exits included) has no order row by client id;
- ``order-not-at-venue``: an order row the journal believes was sent (``new``, ``partially_filled``,
  ``filled``, ``canceled``) is not among the venue's orders;
- ``status``: one side has the order final (filled, cancelled, rejected) and the other open, or
  both final but different (``pending`` counts as open; ``expired``, "never sent", is final and
  so always differs from an order the venue has);
- ``filled-qty``: the journal's filled quantity differs from the venue's;
- ``fill-not-journaled`` / ``fill-not-at-venue``: a venue execution has no fill row by trade id,
  or the other way round;
- ``position`` (basis ``fills``): for every symbol the journal has orders in, the venue's position
  equals the net of the journaled fills (buys minus sells, a fee taken in the base asset
  subtracted). This holds when the venue's holdings of those symbols come only from the bot;
  for an account that held them before, pass ``positions="snapshot"``;
- ``snapshot``: the venue's positions equal the journal's last position snapshot.

Quantities agree within ``1e-8`` relative. A venue without an order history
(:class:`~bot.venues.base.OrderHistory`) has its orders skipped, and the report says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
from loguru import logger

from bot.errors import VenueError
from bot.instruments import split_pair
from bot.live.journal import FINAL as JOURNAL_FINAL
from bot.live.journal import Journal, OrderRow
from bot.venues.base import OrderHistory, VenueClient
from bot.venues.types import FINAL_STATUSES, Fill, OrderState

AUDIT_KEY = "last_audit"
SENT = ("new", "partially_filled", "filled", "canceled")  # journal statuses that mean "the venue has it"
PositionBasis = Literal["fills", "snapshot"]


@dataclass(frozen=True)
class Difference:
    """One disagreement between journal and venue."""

    kind: str
    key: str  # client order id, trade id or symbol
    detail: str

    def line(self) -> str:
        return f"{self.kind} {self.key}: {self.detail}"


@dataclass
class AuditReport:
    """What :func:`audit` compared and the differences it found."""

    since: pd.Timestamp | None
    venue_orders: int | None  # None: the venue lists no order history
    journal_orders: int
    venue_fills: int
    journal_fills: int
    positions: dict[str, float]
    basis: PositionBasis
    differences: list[Difference] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.differences

    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for d in self.differences:
            counts[d.kind] += 1
        return dict(counts)

    def summary(self) -> str:
        orders = "not listed by the venue" if self.venue_orders is None else f"{self.venue_orders} at the venue"
        verdict = (
            "clean"
            if self.clean
            else f"{len(self.differences)} differences "
            + ", ".join(f"{k}={v}" for k, v in sorted(self.by_kind().items()))
        )
        return (
            f"audit since {self.since or 'the start'}: orders {orders}, {self.journal_orders} journaled; "
            f"fills {self.venue_fills} at the venue, {self.journal_fills} journaled; "
            f"positions ({self.basis}) {_fmt(self.positions) or 'flat'}: {verdict}"
        )

    def to_json(self) -> dict:
        return dict(
            since=str(self.since) if self.since is not None else None,
            clean=self.clean,
            summary=self.summary(),
            differences=[d.line() for d in self.differences],
        )


def journal_since(journal: Journal) -> pd.Timestamp | None:
    """Return when the journal's first session started (None if it has none)."""
    started = [s["started"] for s in journal.sessions() if s["started"] is not None]
    return min(started) if started else None


def audit(venue: VenueClient, journal: Journal, positions: PositionBasis = "fills") -> AuditReport:
    """Compare ``journal`` with ``venue`` (see the module doc); raise VenueError if the venue fails."""
    since = journal_since(journal)
    rows = [r for r in journal.orders() if since is None or r.created is None or r.created >= since]
    listed = venue.orders(since) if isinstance(venue, OrderHistory) else None
    venue_fills = venue.fills(since)
    ours = journal.fills()
    held = venue.positions()
    report = AuditReport(
        since, None if listed is None else len(listed), len(rows), len(venue_fills), len(ours), held, positions
    )
    if listed is not None:
        report.differences += order_differences(listed, rows)
    report.differences += fill_differences(venue_fills, [f for f in ours if since is None or f.time >= since])
    if positions == "fills":
        implied = net_positions(ours)
        traded = set(implied) | {r.symbol for r in rows}
        report.differences += position_differences(held, implied, symbols=traded)
    last = journal.last_positions()
    if last is not None:
        report.differences += [
            Difference("snapshot", d.key, d.detail.replace("journal fills", "last snapshot"))
            for d in position_differences(held, last, symbols=set(last) | set(held))
        ]
    return report


def order_differences(listed: Iterable[OrderState], rows: Iterable[OrderRow]) -> list[Difference]:
    """Return how the venue's orders and the journal's order rows disagree."""
    journal = {r.client_id: r for r in rows}
    venue = {o.client_order_id: o for o in listed}
    out = [
        Difference("order-not-journaled", cid, f"{o.side} {o.qty:g} {o.symbol} is {o.status} at the venue")
        for cid, o in venue.items()
        if cid not in journal
    ]
    out += [
        Difference("order-not-at-venue", cid, f"journal has it {r.status}, the venue does not know it")
        for cid, r in journal.items()
        if cid not in venue and r.status in SENT
    ]
    for cid, o in venue.items():
        row = journal.get(cid)
        if row is None:
            continue
        if not statuses_agree(row.status, o.status):
            out.append(Difference("status", cid, f"journal {row.status}, venue {o.status}"))
        if not _same(row.filled_qty, o.filled_qty):
            out.append(Difference("filled-qty", cid, f"journal {row.filled_qty:g}, venue {o.filled_qty:g}"))
    return out


def statuses_agree(journal_status: str, venue_status: str) -> bool:
    """Return True if a journal status matches the venue's (open with open, final equal)."""
    venue_final = venue_status in FINAL_STATUSES
    journal_final = journal_status in JOURNAL_FINAL
    if venue_final != journal_final:
        return False
    return not venue_final or journal_status == venue_status


def fill_differences(venue_fills: Iterable[Fill], journal_fills: Iterable[Fill]) -> list[Difference]:
    """Return venue fills missing from the journal and journal fills the venue does not have."""
    venue = {f.trade_id: f for f in venue_fills}
    journal = {f.trade_id: f for f in journal_fills}
    out = [
        Difference(
            "fill-not-journaled",
            tid,
            f"{f.side} {f.qty:g} {f.symbol} @ {f.price:g} at {f.time} (order {f.client_order_id})",
        )
        for tid, f in venue.items()
        if tid not in journal
    ]
    out += [
        Difference("fill-not-at-venue", tid, f"{f.side} {f.qty:g} {f.symbol} (order {f.client_order_id})")
        for tid, f in journal.items()
        if tid not in venue
    ]
    for tid, f in venue.items():
        mine = journal.get(tid)
        if mine is not None and not _same(mine.qty, f.qty):
            out.append(Difference("fill-qty", tid, f"journal {mine.qty:g}, venue {f.qty:g}"))
    return out


def net_positions(fills: Iterable[Fill]) -> dict[str, float]:
    """Return the holdings the fills add up to (a fee taken in the base asset reduces a buy)."""
    net: dict[str, float] = defaultdict(float)
    for f in fills:
        base = split_pair(f.symbol)[0]
        fee = f.commission if base is not None and f.commission_asset == base else 0.0
        net[f.symbol] += f.qty - fee if f.side == "buy" else -f.qty
    return dict(net)


def position_differences(
    held: dict[str, float], implied: dict[str, float], symbols: set[str] | None = None
) -> list[Difference]:
    """Return symbols (default: those of ``implied``) whose venue position differs from ``implied``."""
    out = []
    for sym in sorted(symbols if symbols is not None else set(implied)):
        a, b = implied.get(sym, 0.0), held.get(sym, 0.0)
        if not _same(a, b):
            out.append(Difference("position", sym, f"journal fills {a:g}, venue {b:g}"))
    return out


def log_audit(venue: VenueClient, journal: Journal, positions: PositionBasis = "fills") -> AuditReport | None:
    """Audit at the end of a session: log each difference and the summary, keep it in the journal.

    Never raises: a venue error is logged and None returned (the next start reconciles anyway).
    """
    try:
        report = audit(venue, journal, positions)
    except VenueError as err:
        logger.warning("journal audit skipped: the venue failed: {}", err)
        return None
    for d in report.differences:
        logger.warning("audit: {}", d.line())
    (logger.info if report.clean else logger.warning)("{}", report.summary())
    journal.put_state(AUDIT_KEY, report.to_json())
    return report


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-8 * max(1.0, abs(a), abs(b))


def _fmt(held: dict[str, float]) -> str:
    return ", ".join(f"{s} {q:g}" for s, q in sorted(held.items()))
