"""Restart: run_live.py as a subprocess against the fake Alpaca, SIGKILL it while an order is in
flight (the venue took it, the answer never arrived), restart it, and check that no order was
placed twice or lost and that the journal's positions and fills match the venue.

The test drives the venue clock: it reveals the next bar only once the bot has journaled the
current one as finished, so the run is deterministic however slow the machine is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bot.live.journal import Journal
from tests.fakes.alpaca import FakeAlpaca
from tests.fakes.bars import random_bars

ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = ["AAPL", "MSFT"]
WARMUP = 8


def write_config(tmp: Path, url: str) -> Path:
    cfg = dict(
        name="restart", seed=1,
        data=dict(source="sample", symbols=SYMBOLS, timeframe="1h"),
        strategy=dict(name="sma_cross", params=dict(fast=2, slow=5)),
        broker=dict(kind="alpaca", cash=100_000, commission=0.0, slippage=0.0,
                    alpaca=dict(paper=True, trading_url=url, data_url=url)),
        risk=dict(sizing="fixed_fraction", fraction=0.3, max_position=0.4, stop_loss=0.02, take_profit=0.03),
        live=dict(state_db=f"sqlite:///{tmp / 'journal.db'}", poll_seconds=0.05, warmup_bars=WARMUP),
    )
    path = tmp / "restart.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


class Driver:
    """Runs run_live.py and moves the fake's clock one bar each time the bot finished a bar."""

    def __init__(self, fake: FakeAlpaca, config: Path, journal: Journal):
        self.fake, self.config, self.journal = fake, config, journal
        self.env = dict(os.environ, ALPACA_API_KEY=fake.key, ALPACA_SECRET_KEY=fake.secret)
        self._start_clock = fake.clock

    def start(self, *extra: str) -> subprocess.Popen:
        cmd = [sys.executable, "run_live.py", "--config", str(self.config), *extra]
        self.session = len(self.journal.sessions()) + 1
        return subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def latest_bar(self) -> pd.Timestamp:
        return self.fake.clock - pd.Timedelta("1h")

    def finished(self) -> pd.Timestamp | None:
        text = self.journal.get_state("last_bar")
        return pd.Timestamp(text) if text else None

    def drive(self, proc: subprocess.Popen, until, bars: int | None = None, timeout: float = 60.0) -> None:
        """Advance bar by bar until ``until()`` is true or the process exits (after ``bars`` bars)."""
        deadline = time.monotonic() + timeout
        marks = len(self.journal.equity())
        while time.monotonic() < deadline:
            if proc.poll() is not None or until():
                return
            more = bars is None or len(self.journal.equity()) < marks + bars
            if more and self.journal.get_state("ready_session") == self.session \
                    and self.fake.engine.remaining_bars() > 0:
                done = self.finished()
                if done == self.latest_bar() or (done is None and self.fake.clock == self._start_clock):
                    self.fake.advance()
            time.sleep(0.02)
        raise AssertionError("the bot made no progress")


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
