"""The bar poller releases a time step only when every symbol's bar is in (or provably missing)."""

from __future__ import annotations

import pandas as pd

from bot.configure import parse_config
from bot.live.bars import BarPoller
from bot.venues.base import closed_only
from strategies import build_strategy
from tests.fakes.bars import random_bars

T0 = pd.Timestamp("2024-01-01", tz="UTC")


class LaggingVenue:
    """Two symbols; B's bars are published ``lag`` later than A's (a slow data feed)."""

    name = "stub"

    def __init__(self, lag: pd.Timedelta):
        self.bars = {s: random_bars(30, start="2024-01-01", freq="1h", seed=i) for i, s in enumerate("AB")}
        self.now, self.lag = T0 + pd.Timedelta("10h") + lag, lag  # both symbols' 09:00 bars are in

    def clock(self) -> pd.Timestamp:
        return self.now

    def sync(self) -> None:
        pass

    def get_bars(self, symbol, timeframe, start=None, limit=None):
        df = self.bars[symbol]
        if start is not None:
            df = df[df.index >= start]
        return closed_only(df, timeframe, self.now - (self.lag if symbol == "B" else pd.Timedelta(0)), limit)


def poller(venue, late: float = 60.0) -> BarPoller:
    cfg = parse_config(
        dict(
            name="b",
            data=dict(symbols=["A", "B"], timeframe="1h"),
            strategy=dict(name="sma_cross", params=dict(fast=2, slow=3)),
            risk=dict(sizing="fixed_fraction"),
        )
    )
    p = BarPoller(
        venue, ["A", "B"], "1h", build_strategy(cfg), wait=lambda s: True, poll_seconds=0, late_bar_seconds=late
    )
    p.warm_up(5)
    return p


def test_a_step_waits_for_the_lagging_symbol() -> None:
    venue = LaggingVenue(pd.Timedelta("30s"))
    p = poller(venue)
    venue.now = T0 + pd.Timedelta("11h")
    assert p.poll() == 0  # A's 10:00 bar is in, B's is not yet published
    venue.now += pd.Timedelta("30s")
    assert p.poll() == 1
    a, b = p.next_bar("A"), p.next_bar("B")
    assert a.timestamp == b.timestamp == T0 + pd.Timedelta("10h")
    assert set(a.signals) == {"cross"}


def test_a_symbol_without_a_bar_is_skipped_after_the_grace_period() -> None:
    venue = LaggingVenue(pd.Timedelta("10min"))
    p = poller(venue, late=120.0)
    venue.now = T0 + pd.Timedelta("11h")
    assert p.poll() == 0
    venue.now += pd.Timedelta("3min")  # B still silent 3 min after the close: trade A alone
    assert p.poll() == 1
    assert p.next_bar("A").timestamp == T0 + pd.Timedelta("10h") and p.next_bar("B") is None
    venue.now += pd.Timedelta("10min")  # B's bar arrives late: it is delivered on its own, in order
    assert p.poll() == 1 and p.next_bar("B").timestamp == T0 + pd.Timedelta("10h")


def test_max_bars_ends_the_feed() -> None:
    venue = LaggingVenue(pd.Timedelta(0))
    p = poller(venue)
    p.max_bars = 2
    venue.now += pd.Timedelta("3h")
    assert p.poll() == 2 and p.ended
    assert not p.finished("A")
    p.next_bar("A"), p.next_bar("A")
    assert p.finished("A")
