"""The journal audit: pure diff logic on an in-memory venue, the venue order histories through the real
clients against the loopback fakes, and ``python -m bot.live audit`` on the command line."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.live.__main__ import main as live_main
from bot.live.audit import AUDIT_KEY, audit, log_audit, net_positions, statuses_agree
from bot.live.journal import Journal, OrderRow
from bot.live.router import OrderRouter
from bot.orders import OrderRequest
from bot.venues.base import OrderHistory
from bot.venues.types import Fill, OrderState
from tests.live.harness import start as start_live
from tests.venues.harness import start_harness

T0 = pd.Timestamp("2024-01-02 10:00", tz="UTC")


class BookVenue:
    """A venue that is just a book of orders, fills and positions (no HTTP)."""

    name = "book"

    def __init__(self) -> None:
        self.book: list[OrderState] = []
        self.executions: list[Fill] = []
        self.held: dict[str, float] = {}

    def orders(self, since=None) -> list[OrderState]:
        return [o for o in self.book if since is None or o.created >= since]

    def fills(self, since=None) -> list[Fill]:
        return [f for f in self.executions if since is None or f.time >= since]

    def positions(self) -> dict[str, float]:
        return dict(self.held)


def order(cid: str, status: str = "filled", filled: float = 10.0, qty: float = 10.0) -> OrderState:
    return OrderState(
        cid,
        f"v-{cid}",
        "AAPL",
        "buy",
        qty,
        filled,
        100.0 if filled else None,
        status,  # type: ignore[arg-type]
        T0,
        T0,
    )


def fill(tid: str, cid: str, qty: float = 10.0, side: str = "buy") -> Fill:
    return Fill(cid, f"v-{cid}", tid, "AAPL", side, qty, 100.0, 0.0, None, T0 + pd.Timedelta("1h"))  # type: ignore[arg-type]


@pytest.fixture
def book(tmp_path):
    journal = Journal(f"sqlite:///{tmp_path / 'j.db'}")
    journal.start_session("t", "book", T0 - pd.Timedelta("1h"))
    venue = BookVenue()
    venue.book.append(order("mp-1"))
    venue.executions.append(fill("t1", "mp-1"))
    venue.held = {"AAPL": 10.0}
    journal.record_order(
        OrderRow("mp-1", "AAPL", "buy", 10.0, "market", "filled", "entry", filled_qty=10.0, created=T0)
    )
    journal.add_fill(fill("t1", "mp-1"))
    journal.snapshot_positions(T0 + pd.Timedelta("1h"), {"AAPL": 10.0})
    yield venue, journal
    journal.close()


def test_a_journal_equal_to_its_venue_is_clean(book) -> None:
    venue, journal = book
    report = audit(venue, journal)
    assert report.clean, [d.line() for d in report.differences]
    assert report.summary().endswith(": clean")


def test_every_kind_of_difference_is_reported_by_key(book) -> None:
    venue, journal = book
    venue.book += [order("mp-2", "canceled", 0.0), order("AlpacaLeg-uuid", "filled", 10.0)]
    venue.executions.append(fill("t2", "AlpacaLeg-uuid", side="sell"))
    venue.held = {"AAPL": 0.0, "MSFT": 5.0}
    journal.record_order(OrderRow("mp-2", "AAPL", "buy", 10.0, "market", "new", "entry", created=T0))
    journal.record_order(
        OrderRow("mp-3", "AAPL", "buy", 10.0, "market", "filled", "entry", filled_qty=10.0, created=T0)
    )
    journal.update_order("mp-1", filled_qty=7.0)
    lines = {d.line() for d in audit(venue, journal).differences}
    assert lines == {
        "order-not-journaled AlpacaLeg-uuid: buy 10 AAPL is filled at the venue",
        "order-not-at-venue mp-3: journal has it filled, the venue does not know it",
        "status mp-2: journal new, venue canceled",
        "filled-qty mp-1: journal 7, venue 10",
        "fill-not-journaled t2: sell 10 AAPL @ 100 at 2024-01-02 11:00:00+00:00 (order AlpacaLeg-uuid)",
        "position AAPL: journal fills 10, venue 0",
        "snapshot AAPL: last snapshot 10, venue 0",
        "snapshot MSFT: last snapshot 0, venue 5",
    }


def test_statuses_map_open_to_open_and_final_to_the_same_final() -> None:
    assert statuses_agree("pending", "new") and statuses_agree("partially_filled", "new")
    assert statuses_agree("canceled", "canceled")
    assert not statuses_agree("expired", "canceled")  # never sent, yet the venue has it
    assert not statuses_agree("canceled", "new") and not statuses_agree("new", "filled")


def test_a_fee_taken_in_the_base_asset_reduces_the_position() -> None:
    f = Fill("mp-1", "1", "t", "BTC/USDT", "buy", 1.0, 100.0, 0.001, "BTC", T0)
    assert net_positions([f]) == {"BTC/USDT": pytest.approx(0.999)}


@pytest.mark.parametrize("kind", ["alpaca-fake", "ccxt-fake"])
def test_venue_order_history_lists_every_order_with_bracket_exits_flat(kind) -> None:
    h = start_harness(kind)
    try:
        assert isinstance(h.venue, OrderHistory)
        h.venue.submit_order(OrderRequest("mp-b1", h.symbol, "buy", h.qty, take_profit=110.0, stop_loss=95.0))
        h.fake.advance(1)
        h.venue.sync()
        listed = {o.client_order_id: o for o in h.venue.orders(h.fake.clock - pd.Timedelta("2h"))}
        at_fake = {o.client_order_id for o in h.fake.orders()}
        assert set(listed) == at_fake and len(at_fake) == 3  # the entry and its two exits
        assert listed["mp-b1"].status == "filled"
        assert h.venue.orders(h.fake.clock + pd.Timedelta("1h")) == []
    finally:
        h.fake.stop()


@pytest.mark.parametrize("kind", ["alpaca-fake", "ccxt-fake", "paper"])
def test_a_routed_bracket_round_trip_audits_clean_once_exits_are_journaled(kind, tmp_path) -> None:
    h = start_live(kind, tmp_path)
    try:
        sid = h.journal.start_session("t", kind, h.venue.clock())
        router = OrderRouter(h.venue, h.journal, sid, since=h.venue.clock())
        router.send(h.ticket("mp-e1", take_profit=110.0, stop_loss=95.0))
        for _ in range(4):
            h.advance(1)
            router.poll()
        h.journal.snapshot_positions(h.venue.clock(), h.venue.positions(), sid)
        report = log_audit(h.venue, h.journal)
        assert report is not None and h.journal.get_state(AUDIT_KEY)["summary"] == report.summary()
        # the exit that did not fill (cancelled by its OCO sibling) is the one difference still allowed
        # until every exit the bot places is journaled as an order row (the lead's change)
        kinds = {d.kind for d in report.differences}
        assert kinds <= {"order-not-journaled"}, [d.line() for d in report.differences]
    finally:
        h.close()


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys) -> None:
    cfg = ["--config", "config/live/replay_sample.yaml", "--set", f"live.state_db=sqlite:///{tmp_path / 'no.db'}"]
    assert live_main(["audit", *cfg]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("config error: live.state_db: no journal at")
