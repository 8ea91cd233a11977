"""Drive run_live.py (a subprocess) against an in-process fake Alpaca, bar by bar."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from bot.live.journal import Journal
from tests.fakes.alpaca import FakeAlpaca

ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = ["AAPL", "MSFT"]
WARMUP = 8


def write_config(tmp: Path, url: str, **live) -> Path:
    cfg = dict(
        name="restart",
        seed=1,
        data=dict(source="sample", symbols=SYMBOLS, timeframe="1h"),
        strategy=dict(name="sma_cross", params=dict(fast=2, slow=5)),
        broker=dict(
            kind="alpaca",
            cash=100_000,
            commission=0.0,
            slippage=0.0,
            alpaca=dict(paper=True, trading_url=url, data_url=url),
        ),
        risk=dict(sizing="fixed_fraction", fraction=0.3, max_position=0.4, stop_loss=0.02, take_profit=0.03),
        live=dict(state_db=f"sqlite:///{tmp / 'journal.db'}", poll_seconds=0.05, warmup_bars=WARMUP, **live),
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
        return subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

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
            if (
                more
                and self.journal.get_state("ready_session") == self.session
                and self.fake.engine.remaining_bars() > 0
            ):
                done = self.finished()
                if done == self.latest_bar() or (done is None and self.fake.clock == self._start_clock):
                    self.fake.advance()
            time.sleep(0.02)
        raise AssertionError("the bot made no progress")
