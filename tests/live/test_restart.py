"""Restart: run_live.py as a subprocess against the fake Alpaca, SIGKILL it while an order is in
flight (the venue took it, the answer never arrived), restart it, and check that no order was
placed twice or lost and that the journal's positions and fills match the venue.

The test drives the venue clock: it reveals the next bar only once the bot has journaled the
current one as finished, so the run is deterministic however slow the machine is.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter

import pytest

from bot.live.journal import Journal
from tests.fakes.alpaca import FakeAlpaca
from tests.fakes.bars import random_bars
from tests.live.driver import SYMBOLS, WARMUP, Driver, write_config


def posted_ids(fake: FakeAlpaca) -> Counter:
    return Counter(json.loads(r.body).get("client_order_id") for r in fake.requests("POST", "/v2/orders"))


def test_sigkill_mid_order_then_restart(tmp_path) -> None:
    bars = {s: random_bars(80, start="2024-05-01", freq="1h", vol=0.02, seed=21 + i) for i, s in enumerate(SYMBOLS)}
    with FakeAlpaca(bars, timeframe="1Hour", warmup=WARMUP, cash=100_000) as fake:
        journal = Journal(f"sqlite:///{tmp_path / 'journal.db'}")
        driver = Driver(fake, write_config(tmp_path, fake.base_url), journal)
        first = driver.start()
        driver.drive(first, lambda: len(journal.fills()) >= 2)  # it has traded
        assert first.poll() is None, first.communicate()[1][-2000:]
        posts = len(fake.requests("POST", "/v2/orders"))
        fake.inject("/v2/orders", "timeout", method="POST", delay=3.0, when="before")  # taken, answer lost
        driver.drive(first, lambda: len(fake.requests("POST", "/v2/orders")) > posts)
        time.sleep(0.3)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        fake.wait_idle(10)
        [in_flight] = [r for r in journal.orders() if r.status == "pending"]
        assert posted_ids(fake)[in_flight.client_id] == 1  # at the venue, unconfirmed in the journal

        second = driver.start("--max-bars", "12")
        driver.drive(second, lambda: False, bars=12)
        out, err = second.communicate(timeout=30)
        assert second.returncode == 0, err[-3000:]
        assert f"order {in_flight.client_id} was sent before the last run ended" in err

        # nothing placed twice: every client order id reached the venue in exactly one request
        assert max(posted_ids(fake).values()) == 1
        ours = {r.client_id: r for r in journal.orders() if r.parent_id is None}
        at_venue = {o.client_order_id for o in fake.orders()}
        # nothing lost: every journaled order is at the venue, or says why not; every order we sent is journaled
        assert all(cid in at_venue or r.status in ("rejected", "expired") for cid, r in ours.items())
        assert {cid for cid in at_venue if cid.startswith("mp-")} <= set(ours)
        assert ours[in_flight.client_id].status in ("new", "filled")
        decisions = Counter((r.symbol, r.bar_time, r.intent) for r in ours.values())
        assert max(decisions.values()) == 1  # one order per symbol, bar and intent, whatever the restarts
        # positions: the journal's last snapshot and its fills both match the venue
        venue_positions = {s: fake.engine.position(s) for s in SYMBOLS if fake.engine.position(s)}
        assert journal.last_positions() == pytest.approx(venue_positions)
        net = Counter()
        for f in journal.fills():
            net[f.symbol] += f.qty if f.side == "buy" else -f.qty
        assert {s: q for s, q in net.items() if q} == pytest.approx(venue_positions)
        assert len(journal.fills()) == len(fake.fills())
        sessions = journal.sessions()
        assert [s["status"] for s in sessions] == ["crashed", "ended"]
        journal.close()
