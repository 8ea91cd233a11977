"""Measure a venue client for the exporter: API latency per call, errors by kind, bar-to-order latency.

``InstrumentedVenue(venue, state)`` is a drop-in proxy for a ``VenueClient``: every call is timed
into ``mp_api_latency_seconds{endpoint=...}``, every exception is counted in
``mp_errors_total{kind=...}`` (kinds follow ``bot.errors``: rate_limited, transient, rejected,
fatal, venue, other: ``ERROR_KINDS``, each exported from 0 once the venue is wrapped) and
re-raised unchanged. When ``get_bars`` first shows a newer bar the time is noted, and every
accepted ``submit_order`` after it records the bar-to-order latency.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.errors import (
    FatalVenueError,
    OrderRejectedError,
    RateLimitedError,
    TransientVenueError,
    VenueError,
)
from bot.monitoring.state import LiveState

ERROR_KINDS = ("rate_limited", "transient", "rejected", "fatal", "venue", "other")  # error_kind()
TIMED = (
    "clock",
    "get_bars",
    "account",
    "positions",
    "submit_order",
    "get_order",
    "cancel_order",
    "open_orders",
    "fills",
    "sync",
)


def error_kind(e: BaseException) -> str:
    """Return the metrics label of an exception, by what the caller does about it."""
    for cls, kind in (
        (RateLimitedError, "rate_limited"),
        (TransientVenueError, "transient"),
        (OrderRejectedError, "rejected"),
        (FatalVenueError, "fatal"),
        (VenueError, "venue"),
    ):
        if isinstance(e, cls):
            return kind
    return "other"


class InstrumentedVenue:
    """A VenueClient proxy that reports latency, errors and bar-to-order time to a LiveState."""

    def __init__(self, venue: Any, state: LiveState, clock: Callable[[], float] = time.perf_counter):
        self._venue = venue
        self._state = state
        self._clock = clock
        self._last_bar: dict[str, Any] = {}
        self._bar_known: float | None = None
        state.expect_errors(ERROR_KINDS)

    @property
    def inner(self) -> Any:
        return self._venue

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._venue, name)
        if name not in TIMED or not callable(attr):
            return attr

        def timed(*args, **kwargs):
            t0 = self._clock()
            try:
                out = attr(*args, **kwargs)
            except Exception as e:
                self._state.add_error(error_kind(e))
                self._state.observe_api_latency(name, self._clock() - t0)
                raise
            t1 = self._clock()
            self._state.observe_api_latency(name, t1 - t0)
            self._after(name, args, kwargs, out, t0, t1)
            return out

        return timed

    def _after(self, name: str, args: tuple, kwargs: dict, out: Any, t0: float, t1: float) -> None:
        if name == "get_bars" and out is not None and len(out):
            symbol: str = args[0] if args else kwargs["symbol"]  # get_bars(symbol, ...) returned
            last = out.index[-1]
            if symbol not in self._last_bar or last > self._last_bar[symbol]:
                self._last_bar[symbol] = last
                self._bar_known = t1
        elif name == "submit_order" and self._bar_known is not None:
            self._state.observe_bar_to_order(max(0.0, t0 - self._bar_known))
