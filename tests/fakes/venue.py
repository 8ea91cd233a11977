"""Base of the fake venues: a :class:`FakeServer` around an :class:`Engine`."""

from __future__ import annotations

import pandas as pd

from tests.fakes.engine import Engine, FakeFill, FakeOrder
from tests.fakes.server import FakeServer, Request, Response, Route


class FakeVenue(FakeServer):
    """A fake venue: HTTP server + engine. Tests drive time with :meth:`advance`."""

    def __init__(self, engine: Engine):
        super().__init__()
        self.engine = engine

    @property
    def clock(self) -> pd.Timestamp:
        """Return the venue clock (close time of the last revealed bar)."""
        return self.engine.clock

    def advance(self, n: int = 1) -> pd.Timestamp:
        """Reveal the next ``n`` bars (filling orders on them); return the new clock."""
        return self.engine.advance(n)

    def orders(self) -> list[FakeOrder]:
        """Return every order the venue holds, oldest first."""
        with self.engine.lock:
            return list(self.engine.orders.values())

    def fills(self) -> list[FakeFill]:
        """Return every execution, oldest first."""
        with self.engine.lock:
            return list(self.engine.fills)

    def call_route(self, fn: Route, req: Request, kind: str | None) -> Response:
        with self.engine.lock:
            self.engine.partial_next = int(kind == "partial")
            self.engine.split_next = int(kind == "split")
            try:
                return fn(req)
            finally:
                self.engine.partial_next = self.engine.split_next = 0
