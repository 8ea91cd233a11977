"""Closed bars from a venue, released to the live feeds one time step at a time, with signals.

:class:`BarPoller` keeps each symbol's history (warm-up + live bars), asks the venue for new
closed bars (the venue's bar timestamps and clock decide what is closed, never the local
clock) and releases a time step ``t`` once every symbol has its bar at ``t`` -- or shows a later
bar, or the venue clock is ``late_bar_seconds`` past the bar's close (a symbol that did not
trade). A step seen later than one bar length + ``late_bar_seconds`` after its close (the venue
or the bot was unreachable) becomes history, untraded, like the bars that closed before start-up.
For every released bar it computes the strategy's signal columns on the history with
``strategy.compute_signals`` (causal, so the value equals a backtest's at that bar), with P(up)
from the live model for ML strategies.

The session loop calls :meth:`BarPoller.heartbeat` once per Backtrader iteration: when every
released bar has been delivered it waits (``wait(poll_seconds)``: a sleep, or a replay's
``advance``) and polls again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from loguru import logger

from bot.features import wide
from bot.features.stream import ohlcv_array
from bot.live.model import LiveModel
from bot.venues.base import VenueClient, timeframe_delta
from strategies.base import PortfolioStrategy, Strategy

if TYPE_CHECKING:
    from bot.retrain.scheduler import ModelSlot

Wait = Callable[[float], object]  # returns False when no more bars can ever come (replay exhausted)
OnSignals = Callable[[pd.Timestamp, dict[str, dict]], None]  # bar time, symbol -> signal values


@dataclass(frozen=True)
class LiveBar:
    timestamp: pd.Timestamp
    open: float
    high: float
    low: float
    close: float
    volume: float
    signals: dict[str, float]


class BarPoller:
    """Venue bars -> released steps -> per-symbol delivery queues."""

    def __init__(
        self,
        venue: VenueClient,
        symbols: Sequence[str],
        timeframe: str,
        strategy: Strategy | PortfolioStrategy,
        *,
        wait: Wait,
        poll_seconds: float,
        model: LiveModel | ModelSlot | None = None,
        max_bars: int | None = None,
        late_bar_seconds: float = 60.0,
        on_signals: OnSignals | None = None,
    ):
        self.venue, self.symbols, self.timeframe = venue, list(symbols), timeframe
        self.strategy, self.model, self._wait, self.poll_seconds = strategy, model, wait, poll_seconds
        self.max_bars, self.late = max_bars, pd.Timedelta(seconds=late_bar_seconds)
        self.on_signals = on_signals
        self.delta = timeframe_delta(timeframe)
        self.history: dict[str, pd.DataFrame] = {}
        self._probs: dict[str, dict[pd.Timestamp, float]] = {s: {} for s in self.symbols}
        self._incoming: dict[str, pd.DataFrame] = {}
        self._queues: dict[str, deque[LiveBar]] = {s: deque() for s in self.symbols}
        self.released = 0  # steps released so far
        self.ended = False
        self._delivered = False
        self._polled = False
        self._warmup, self._resume_after = 1, None

    # ---- start-up ---------------------------------------------------------------------
    def warm_up(self, bars: int, resume_after: pd.Timestamp | None = None) -> dict[str, pd.DataFrame]:
        """Load the warm-up history; return it. With ``resume_after`` (the last bar a previous
        run finished), a newer latest closed step is kept back and delivered as tradeable."""
        self._warmup, self._resume_after = bars, resume_after
        fetched = {s: self.venue.get_bars(s, self.timeframe, limit=bars + 1) for s in self.symbols}
        self._split(fetched)
        return dict(self.history)

    def settle(self) -> None:
        """Before trading starts: bars that closed while warming up (training) become history too;
        only the newest closed bar can still be traded, and only if a previous run left it unfinished."""
        frames = {}
        for sym in self.symbols:
            known = pd.concat([self.history[sym], self._incoming[sym]])
            start = known.index[-1] + pd.Timedelta(1, "s") if len(known) else None
            new = self.venue.get_bars(sym, self.timeframe, start=start)
            frames[sym] = pd.concat([known, new[new.index > known.index[-1]] if len(known) else new])
        self._split(frames, quiet=True)

    def prime(self) -> None:
        """Catch what the model and the strategy stream (bot/features/stream.py) up with the
        history, so that the first traded bar costs one bar of work."""
        prime = getattr(self.model, "prime", None)
        if prime is not None:
            prime(self.history)
        latest = getattr(self.strategy, "latest_signals", None)
        if latest is not None and wide.ENABLED:
            latest(dict(self.history), {})

    def _split(self, frames: dict[str, pd.DataFrame], quiet: bool = False) -> None:
        latest = max((df.index[-1] for df in frames.values() if len(df)), default=None)
        resume = self._resume_after
        replay_last = resume is not None and latest is not None and latest > resume
        for sym, df in frames.items():
            keep = df[df.index < latest] if replay_last else df
            self.history[sym] = keep.iloc[-self._warmup :] if not quiet else keep
            self._incoming[sym] = df[df.index == latest] if replay_last else df.iloc[0:0]
        if replay_last and not quiet:
            logger.info("bar {} closed but was not finished by the last run: trading it now", latest)

    # ---- delivery -----------------------------------------------------------------------
    def next_bar(self, symbol: str) -> LiveBar | None:
        """Return the next released bar of ``symbol``, or None."""
        q = self._queues[symbol]
        if not q:
            return None
        self._delivered = True
        return q.popleft()

    def finished(self, symbol: str) -> bool:
        """Return True once no bar will ever come for ``symbol``."""
        return self.ended and not self._queues[symbol]

    def pending(self) -> bool:
        return any(self._queues.values())

    def heartbeat(self, before_poll: Callable[[], None] | None = None) -> None:
        """Between iterations: when everything released was delivered, wait and poll
        (``before_poll`` runs after the wait, before the new bars are fetched)."""
        if self._delivered:
            self._delivered = False
            return
        if self.ended or self.pending():
            return
        if self._polled and self._wait(self.poll_seconds) is False:
            self.ended = True
            return
        self._polled = True
        if before_poll is not None:
            before_poll()
        self.poll()

    def stop(self) -> None:
        """End the session after the bars already released."""
        self.ended = True

    # ---- polling ------------------------------------------------------------------------
    def poll(self) -> int:
        """Fetch new closed bars and release every complete step; return how many were released."""
        self.venue.sync()  # a paper venue fills on the new bars before they are handed out
        clock = self.venue.clock()
        for sym in self.symbols:
            last = self._last_seen(sym)
            start = last + pd.Timedelta(1, "s") if last is not None else None
            new = self.venue.get_bars(sym, self.timeframe, start=start)
            if last is not None:
                new = new[new.index > last]
            if len(new):
                self._incoming[sym] = pd.concat([self._incoming[sym], new])
        n, stale = 0, []
        while not self.ended and (t := self._next_step(clock)) is not None:
            if self._stale(t, clock):
                self._absorb(t)
                stale.append(t)
                continue
            self._release(t)
            n += 1
            if self.max_bars is not None and self.released >= self.max_bars:
                logger.info("reached --max-bars {}: ending after this bar", self.max_bars)
                self.ended = True
        if stale:
            logger.warning(
                "{} bar(s) seen too late ({} .. {}, venue clock {}): skipped as history, not traded",
                len(stale),
                stale[0],
                stale[-1],
                clock,
            )
        return n

    def _stale(self, t: pd.Timestamp, clock: pd.Timestamp) -> bool:
        """Return True when bar ``t`` is seen later than one bar length + late_bar_seconds after its close."""
        return clock > t + 2 * self.delta + self.late

    def _absorb(self, t: pd.Timestamp) -> None:
        """Move step ``t`` into the history without trading it (as start-up does with old bars)."""
        for sym in self._members(t):
            inc = self._incoming[sym]
            self.history[sym] = pd.concat([self.history[sym], inc.iloc[:1]])
            self._incoming[sym] = inc.iloc[1:]

    def _members(self, t: pd.Timestamp) -> list[str]:
        return [s for s in self.symbols if len(self._incoming[s]) and self._incoming[s].index[0] == t]

    def _last_seen(self, sym: str) -> pd.Timestamp | None:
        inc, hist = self._incoming[sym], self.history[sym]
        if len(inc):
            return inc.index[-1]
        return hist.index[-1] if len(hist) else None

    def _next_step(self, clock: pd.Timestamp) -> pd.Timestamp | None:
        firsts = {s: df.index[0] for s, df in self._incoming.items() if len(df)}
        if not firsts:
            return None
        t = min(firsts.values())
        if len(firsts) == len(self.symbols) or clock >= t + self.delta + self.late:
            return t
        lagging = [s for s in self.symbols if s not in firsts]
        if all(self._last_seen(s) is not None and self._last_seen(s) > t for s in lagging):
            return t
        return None

    def _release(self, t: pd.Timestamp) -> None:
        members = self._members(t)
        self._absorb(t)
        probs = self.model.prob_up(self.history, t) if self.model else {}
        for sym in members:
            if sym in probs:
                self._probs[sym][t] = probs[sym]
        batch = self._latest_signals(members, t)
        journaled = {}
        for sym in members:
            values = batch[sym] if batch is not None else self._signals(sym)
            o, h, lo, c, v = ohlcv_array(self.history[sym])[-1].tolist()
            self._queues[sym].append(LiveBar(t, o, h, lo, c, v, values))
            # the journal keeps the bar's prices too (a live report's benchmark)
            journaled[sym] = {**values, "bar_open": o, "bar_close": c}
        if self.on_signals is not None:
            self.on_signals(t, journaled)
        self.released += 1
        logger.info("bar {} closed: {}", t, ", ".join(f"{s} {journaled[s]['bar_close']:g}" for s in members))

    def _latest_signals(self, members: list[str], t: pd.Timestamp) -> dict[str, dict] | None:
        """Return every member's signals at ``t`` in one call when the strategy offers ``latest_signals``
        (byte-identical to ``_signals``: tests/live/test_signal_parity.py), else None."""
        latest = getattr(self.strategy, "latest_signals", None)
        if latest is None or not wide.ENABLED:
            return None
        prob_now = {s: self._probs[s][t] for s in members if t in self._probs[s]}
        return latest({s: self.history[s] for s in members}, prob_now)

    def _signals(self, sym: str) -> dict[str, float]:
        hist = self.history[sym]
        prob = pd.Series(self._probs[sym], dtype=np.float64) if self.strategy.uses_model else None
        sig = self.strategy.compute_signals(hist, prob)
        return {c: float(sig[c].iloc[-1]) for c in self.strategy.signal_columns}
