"""Contract of the live broker's venue side (journal + router) on every venue: paper, Alpaca-fake,
CCXT-fake. Bars (``tests/venues/harness.py``): warm-up at 100, an entry fills at the next
open (100), bar 7 reaches 112 (a 110 take-profit fills), bar 8 drops to 89 (a 95 stop fills)."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.errors import FatalVenueError
from bot.live.journal import OrderRow
from bot.live.reconcile import reconcile
from bot.live.router import OrderEvent, OrderRouter
from tests.live.harness import KINDS, LiveHarness, start
from tests.venues.harness import BARS, FAULT_DELAY, FAULT_TIMEOUT, POLICY, WARMUP

FIRST_OPEN = BARS.index[WARMUP]  # the bar an order placed after warm-up fills on
FAKES = [k for k in KINDS if k != "paper"]


@pytest.fixture(params=KINDS)
def h(request, tmp_path) -> LiveHarness:
    harness = start(request.param, tmp_path)
    yield harness
    harness.close()


@pytest.fixture(params=FAKES)
def fake(request, tmp_path) -> LiveHarness:
    harness = start(request.param, tmp_path)
    yield harness
    harness.close()


def entry_commission(h: LiveHarness) -> float:
    return 0.0 if h.kind == "alpaca-fake" else h.qty * 100.0 * 0.001  # ccxt: fee in BTC, valued at 100


# ---- submit / fill / cancel ---------------------------------------------------------------
def test_a_batch_journals_every_order_before_the_first_send_and_the_answers_after_the_last(h: LiveHarness) -> None:
    seen = []
    send = h.venue.submit_order

    def spy(req, **kw):
        seen.append({r.client_id: r.status for r in h.journal.orders()})
        return send(req, **kw)

    h.venue.submit_order = spy
    router = h.router()
    tickets = [h.ticket(cid, bar_time=BARS.index[WARMUP - 1], qty=h.qty / 4) for cid in ("mp-e1", "mp-e2")]
    with router.batch():
        router.journal_ahead(tickets)
        for t in tickets:
            assert router.send(t) is not None
        assert {r.status for r in h.journal.orders()} == {"pending"}  # a kill here: both looked up, not resent
    assert seen == [{"mp-e1": "pending", "mp-e2": "pending"}] * 2  # write-ahead: all journaled before any send
    assert {r.client_id: r.status for r in h.journal.orders()} == {"mp-e1": "new", "mp-e2": "new"}
    assert h.venue_orders("mp-e1") == h.venue_orders("mp-e2") == 1
    assert h.restart().get_order("mp-e2", h.symbol) is not None  # the paper venue saved the batch


def test_order_is_journaled_before_it_is_sent(h: LiveHarness) -> None:
    seen = []
    send = h.venue.submit_order

    def spy(req, **kw):
        row = h.journal.get_order(req.client_order_id)
        seen.append(None if row is None else row.status)
        return send(req, **kw)

    h.venue.submit_order = spy
    h.router().send(h.ticket(bar_time=BARS.index[WARMUP - 1], model_version="m1"))
    assert seen == ["pending"]
    row = h.journal.get_order("mp-e1")
    assert (row.status, row.intent, row.model_version) == ("new", "entry", "m1")
    assert row.bar_time == BARS.index[WARMUP - 1] and row.venue_id


def test_market_order_fills_at_next_open_once(h: LiveHarness) -> None:
    router = h.router()
    router.send(h.ticket())
    assert router.poll() == []
    h.advance(1)
    [event] = router.poll()
    assert event == OrderEvent("mp-e1", "filled", h.qty, 100.0, pytest.approx(entry_commission(h)), FIRST_OPEN)
    assert router.poll() == []  # each fill is reported once
    row = h.journal.get_order("mp-e1")
    assert (row.status, row.filled_qty, row.avg_price) == ("filled", h.qty, 100.0)
    assert [f.client_order_id for f in h.journal.fills()] == ["mp-e1"]
    assert h.venue.positions() == {h.symbol: pytest.approx(h.received)}


def test_cancel(h: LiveHarness) -> None:
    router = h.router()
    router.send(h.ticket("mp-l1", type="limit", limit_price=50.0))
    assert router.cancel("mp-l1", h.symbol).status == "canceled"
    h.advance(3)
    assert router.poll() == []
    assert h.journal.get_order("mp-l1").status == "canceled"
    assert h.venue.positions() == {}


def test_cancel_reported_by_the_venue_becomes_an_event(h: LiveHarness) -> None:
    router = h.router()
    router.send(h.ticket("mp-l1", type="limit", limit_price=50.0))
    h.venue.cancel_order("mp-l1", h.symbol)  # cancelled behind the router's back (e.g. by hand)
    assert router.poll() == [OrderEvent("mp-l1", "canceled")]


# ---- bracket exits --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tp", "sl", "leg", "price", "bars"), [(110.0, 95.0, "take_profit", 110.0, 2), (120.0, 95.0, "stop_loss", 95.0, 3)]
)
def test_bracket_exit_is_attributed_to_its_entry(h: LiveHarness, tp, sl, leg, price, bars) -> None:
    router = h.router()
    router.send(h.ticket(take_profit=tp, stop_loss=sl))
    h.advance(1)
    assert [e.client_order_id for e in router.poll()] == ["mp-e1"]  # entry filled; exits armed
    assert router.armed() == {h.symbol: "mp-e1"}
    h.advance(bars)
    [event] = router.poll()
    assert (event.client_order_id, event.leg, event.price) == ("mp-e1", leg, price)
    assert event.qty == pytest.approx(h.received)
    assert router.armed() == {}
    assert h.venue.positions() == {} and h.venue.open_orders() == []
    legs = {r.intent: r for r in h.journal.orders() if r.parent_id == "mp-e1"}
    assert set(legs) == {"take_profit", "stop_loss"}  # every exit the venue held is an order row
    assert (legs[leg].status, legs[leg].avg_price) == ("filled", price)
    [other] = [r for k, r in legs.items() if k != leg]
    assert other.status == "canceled" and other.venue_id


def test_cancel_exits_frees_the_position_for_an_exit(h: LiveHarness) -> None:
    router = h.router()
    router.send(h.ticket(take_profit=110.0, stop_loss=95.0))
    h.advance(1)
    router.poll()
    assert len(router.cancel_exits(h.symbol)) >= 1
    assert h.venue.open_orders() == []
    router.send(h.ticket("mp-x1", side="sell", qty=h.venue.positions()[h.symbol]))
    h.advance(1)
    [event] = router.poll()
    assert (event.client_order_id, event.status) == ("mp-x1", "filled")
    assert h.venue.positions() == {}


# ---- restart --------------------------------------------------------------------------------
def test_reconciliation_after_restart(h: LiveHarness) -> None:
    h.router().send(h.ticket(take_profit=110.0, stop_loss=95.0, bar_time=BARS.index[WARMUP - 1]))
    venue = h.restart()  # the process dies; the entry fills while nobody watches
    h.advance(1)
    h.venue = venue
    router = h.router(session_id=2)
    report = reconcile(venue, h.journal, router, last_bar=BARS.index[WARMUP - 1])
    assert report.new_fills == 1 and report.positions == {h.symbol: pytest.approx(h.received)}
    assert h.journal.get_order("mp-e1").status == "filled"
    assert h.journal.last_positions() == report.positions
    h.advance(2)  # the take-profit trades: the exits were kept (or re-armed, for CCXT)
    [event] = router.poll()
    assert (event.client_order_id, event.leg, event.price) == ("mp-e1", "take_profit", 110.0)
    assert venue.positions() == {}
    assert h.venue_orders("mp-e1") == 1


def test_pending_orders_are_resolved_at_start_up(h: LiveHarness) -> None:
    old, new = BARS.index[WARMUP - 2], BARS.index[WARMUP]

    def pending(cid: str, bar: pd.Timestamp) -> OrderRow:
        return OrderRow(cid, h.symbol, "buy", 1.0, "market", "pending", "entry", bar_time=bar)

    for cid, bar in (("mp-sent", old), ("mp-lost", old), ("mp-later", new)):
        h.journal.record_order(pending(cid, bar))
    h.venue.submit_order(h.ticket("mp-sent", qty=1.0))  # sent just before the crash
    report = reconcile(h.venue, h.journal, h.router(), last_bar=BARS.index[WARMUP - 1])
    assert (report.found, report.expired, report.still_pending) == (["mp-sent"], ["mp-lost"], ["mp-later"])
    assert h.journal.get_order("mp-sent").status == "new"
    assert h.journal.get_order("mp-lost").status == "expired"
    assert h.venue_orders("mp-lost") == 0


# ---- idempotency and faults ---------------------------------------------------------------
def test_resending_a_journaled_order_never_duplicates_it(h: LiveHarness) -> None:
    router = h.router()
    router.send(h.ticket())
    router.send(h.ticket())
    router.resend(h.journal.get_order("mp-e1"))
    assert h.venue_orders("mp-e1") == 1
    h.advance(1)
    assert len(router.poll()) == 1


def test_rejected_order_is_journaled_and_skipped(h: LiveHarness) -> None:
    router = h.router()
    assert router.send(h.ticket("mp-big", qty=1e9)) is None
    row = h.journal.get_order("mp-big")
    assert row.status == "rejected" and row.error
    router.send(h.ticket())  # trading goes on
    h.advance(1)
    assert [e.client_order_id for e in router.poll()] == ["mp-e1"]


def test_answer_lost_after_the_order_went_in(fake: LiveHarness) -> None:
    fake.fake.inject(_order_path(fake), "timeout", method="POST", delay=FAULT_DELAY, when="before")
    OrderRouter(fake.restart(timeout=FAULT_TIMEOUT), fake.journal).send(fake.ticket())
    fake.fake.wait_idle()
    assert fake.venue_orders("mp-e1") == 1
    assert fake.journal.get_order("mp-e1").status == "new"


def test_unknown_outcome_stays_pending_then_is_resent_while_its_bar_is_current(fake: LiveHarness) -> None:
    fake.fake.inject(_order_path(fake), "http_500", times=POLICY.attempts, method="POST")
    bar = BARS.index[WARMUP - 1]
    router = fake.router()
    assert router.send(fake.ticket(bar_time=bar)) is None
    assert fake.journal.get_order("mp-e1").status == "pending"
    assert fake.venue_orders("mp-e1") == 0
    router.poll(current_bar=bar)
    if fake.kind.startswith("ccxt"):  # Binance: a 5xx leaves the outcome unknown for the recvWindow
        assert fake.venue_orders("mp-e1") == 0 and fake.journal.get_order("mp-e1").status == "pending"
        assert len(fake.fake.requests("POST", _order_path(fake))) == 1  # no retry of an unknown send
        fake.fake.lift("http_500")
        _window_passed(fake, "mp-e1")
        router.poll(current_bar=bar)
    assert fake.venue_orders("mp-e1") == 1
    assert fake.journal.get_order("mp-e1").status == "new"


def test_unknown_outcome_expires_once_its_bar_has_passed(fake: LiveHarness) -> None:
    fake.fake.inject(_order_path(fake), "http_500", times=POLICY.attempts, method="POST")
    router = fake.router()
    router.send(fake.ticket(bar_time=BARS.index[WARMUP - 1]))
    if fake.kind.startswith("ccxt"):
        assert router.poll(current_bar=BARS.index[WARMUP]) == []  # still unknown: may land within the recvWindow
        _window_passed(fake, "mp-e1")
    assert router.poll(current_bar=BARS.index[WARMUP]) == [OrderEvent("mp-e1", "expired")]
    assert fake.venue_orders("mp-e1") == 0


def _window_passed(h: LiveHarness, cid: str) -> None:
    """As if the unknown send of ``cid`` began a minute ago (past Binance's recvWindow)."""
    h.venue._send_times[cid] -= 60.0


def test_partial_fills_arrive_as_two_events(fake: LiveHarness) -> None:
    fake.fake.inject(_order_path(fake), "partial", method="POST")
    router = fake.router()
    router.send(fake.ticket())
    fake.advance(1)
    assert [(e.status, e.qty) for e in router.poll()] == [("partially_filled", fake.qty / 2)]
    fake.advance(1)
    assert [(e.status, e.qty) for e in router.poll()] == [("filled", fake.qty / 2)]
    assert fake.journal.get_order("mp-e1").filled_qty == fake.qty


def test_rate_limit_on_reads_is_waited_out(fake: LiveHarness) -> None:
    router = fake.router()
    router.send(fake.ticket())
    fake.advance(1)
    fills_path = "/v2/account/activities" if fake.kind == "alpaca-fake" else "/api/v3/myTrades"
    fake.fake.inject(fills_path, "http_429", method="GET", retry_after=0.7)
    assert [e.client_order_id for e in router.poll()] == ["mp-e1"]
    assert 0.7 in fake.sleeps  # Retry-After honoured


def test_authentication_failure_is_fatal(fake: LiveHarness, tmp_path) -> None:
    from bot.live.router import OrderRouter
    from tests.venues.harness import alpaca_harness, ccxt_harness

    make = (alpaca_harness if fake.kind == "alpaca-fake" else ccxt_harness)(fake.fake).make
    router = OrderRouter(make(secret="wrong"), fake.journal)
    with pytest.raises(FatalVenueError):
        router.poll()


def _order_path(h: LiveHarness) -> str:
    return "/v2/orders" if h.kind == "alpaca-fake" else "/api/v3/order"
