"""Bars seen late after an outage are history, not trades (defect 12).

The Alpaca fake reveals one bar per wait, except once: after an "outage" the wait returns with
several bars revealed at once. A bar seen later than one bar length + ``live.late_bar_seconds``
after its close feeds the history (its close counts for later signals) but is not traded: no
order and no signal is journaled for it, and the session trades the fresh bars that follow.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
from loguru import logger
from pydantic import SecretStr

from bot.live.bars import BarPoller
from bot.live.journal import Journal
from bot.live.paper_venue import PaperVenue
from bot.live.replay import ReplayBars
from bot.live.session import run_session
from bot.venues.alpaca import AlpacaVenue
from bot.venues.credentials import AlpacaCredentials
from strategies import build_strategy
from tests.fakes.alpaca import FakeAlpaca
from tests.live.test_session_venues import N_BARS, POLICY, WARMUP, bars_for, cfg_for

OUTAGE_AT = 24  # the 24th wait returns after OUTAGE bars were published (AAPL up-crosses on one)
OUTAGE = 6


def outage_wait(fake):
    calls = {"n": 0}

    def wait(seconds: float) -> bool:
        calls["n"] += 1
        step = OUTAGE if calls["n"] == OUTAGE_AT else 1
        if fake.engine.remaining_bars() < step:
            return False
        fake.advance(step)
        return True

    return wait


def test_bars_seen_after_an_outage_are_history_not_trades(tmp_path) -> None:
    symbols = ["AAPL", "MSFT"]
    bars = bars_for(symbols)
    cfg = cfg_for(tmp_path, "alpaca", symbols, commission=0.0, slippage=0.0)
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="INFO")
    try:
        with FakeAlpaca(bars, timeframe="1Hour", warmup=WARMUP, cash=100_000) as fake:
            venue = AlpacaVenue(
                AlpacaCredentials(key_id=SecretStr(fake.key), secret_key=SecretStr(fake.secret)),
                trading_url=fake.base_url,
                data_url=fake.base_url,
                timeout=10,
                retry=POLICY,
            )
            journal = Journal(cfg.live.state_db)
            live = run_session(cfg, venue, journal, wait=outage_wait(fake), stop=threading.Event())
    finally:
        logger.remove(sink)
    index = bars["AAPL"].index
    # wait k reveals bar WARMUP - 1 + k; the outage wait reveals OUTAGE bars, of which all but the
    # newest two closed more than one bar + late_bar_seconds before the venue clock
    first_hidden = WARMUP + OUTAGE_AT - 1
    stale = set(index[first_hidden : first_hidden + OUTAGE - 2])
    fresh_after = set(index[first_hidden + OUTAGE - 2 :])
    orders = journal.orders()
    signals = journal.signals()
    assert not [o for o in orders if o.bar_time in stale]  # nothing traded on the stale bars
    assert live.bars == N_BARS - WARMUP - len(stale)
    assert not set(signals["timestamp"]) & stale  # nor were they handed to the strategy as tradeable
    assert set(signals["timestamp"]) >= fresh_after  # trading goes on with the fresh bars
    assert any(o.bar_time in fresh_after for o in orders)
    assert any(f"{len(stale)} bar(s) seen too late" in line and "skipped as history" in line for line in lines)


def test_stale_bars_still_feed_the_history() -> None:
    bars = bars_for(["AAPL", "MSFT"])
    replay = ReplayBars(bars, "1h", warmup=WARMUP)
    cfg = cfg_for(Path("."), "alpaca", ["AAPL", "MSFT"])
    venue = PaperVenue(replay, ["AAPL", "MSFT"], "1h", cash=1e5, commission=0.0, slippage=0.0)
    p = BarPoller(
        venue, ["AAPL", "MSFT"], "1h", build_strategy(cfg), wait=replay.advance, poll_seconds=0, late_bar_seconds=60.0
    )
    p.warm_up(WARMUP)
    p.settle()
    for _ in range(OUTAGE):
        replay.advance()
    assert p.poll() == 2  # the newest two of six: seen within one bar + late_bar_seconds of their close
    index = bars["AAPL"].index
    assert p.next_bar("AAPL").timestamp == index[WARMUP + OUTAGE - 2]
    assert p.next_bar("AAPL").timestamp == index[WARMUP + OUTAGE - 1] and p.next_bar("AAPL") is None
    for sym in ("AAPL", "MSFT"):  # the four stale bars are in the history the signals are computed on
        pd.testing.assert_frame_equal(p.history[sym], bars[sym].iloc[: WARMUP + OUTAGE], check_freq=False)
