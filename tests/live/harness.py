"""Every venue the live broker runs on, wired for the broker tests: paper, Alpaca-fake, CCXT-fake.

The fakes are helper-built loopback servers driven through the real alpaca-py / ccxt clients
(``tests/venues/harness.py``); the paper venue replays the same bars. ``advance(n)`` reveals
``n`` more bars at the venue, ``restart()`` builds a fresh client (a new process: no memory)
over the same venue state and journal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.live.journal import Journal
from bot.live.paper_venue import PaperVenue
from bot.live.replay import ReplayBars
from bot.live.router import OrderRouter
from bot.orders import OrderRequest
from bot.venues.base import VenueClient
from tests.venues.harness import BARS, FEE, WARMUP, start_harness

KINDS = ["paper", "alpaca-fake", "ccxt-fake"]


@dataclass
class LiveHarness:
    kind: str
    venue: VenueClient
    advance: Callable[[int], None]
    restart: Callable[..., VenueClient]
    journal: Journal
    symbol: str
    qty: float
    received: float  # base amount credited by a buy of ``qty`` (after a fee taken in the asset)
    fake: object | None = None  # the loopback fake (None for paper)
    sleeps: list = field(default_factory=list)

    def router(self, session_id: int | None = None) -> OrderRouter:
        return OrderRouter(self.venue, self.journal, session_id)

    def ticket(self, cid: str = "mp-e1", side: str = "buy", qty: float | None = None, **kw) -> OrderRequest:
        intent = kw.pop("intent", "entry" if side == "buy" else "exit")
        return OrderRequest(cid, self.symbol, side, self.qty if qty is None else qty, intent=intent, **kw)

    def venue_orders(self, cid: str) -> int:
        """Return how many orders with this client id the venue holds."""
        if self.fake is None:
            return int(self.venue.get_order(cid) is not None)
        return sum(1 for o in self.fake.orders() if o.client_order_id == cid)

    def close(self) -> None:
        if self.fake is not None:
            self.fake.stop()
        self.journal.close()


def start(kind: str, tmp: Path) -> LiveHarness:
    """Start the venue of ``kind`` with a fresh SQLite journal under ``tmp``."""
    journal = Journal(f"sqlite:///{tmp / 'journal.db'}")
    if kind == "paper":
        source = ReplayBars({"AAPL": BARS}, "1h", warmup=WARMUP)

        def make() -> PaperVenue:
            return PaperVenue(source, ["AAPL"], "1h", cash=100_000.0, commission=FEE, slippage=0.0, journal=journal)

        def advance(n: int = 1) -> None:
            for _ in range(n):
                source.advance()

        return LiveHarness(kind, make(), advance, make, journal, "AAPL", 10.0, 10.0)
    h = start_harness(kind)
    return LiveHarness(
        kind,
        h.venue,
        lambda n=1: h.fake.advance(n),
        h.make,
        journal,
        h.symbol,
        h.qty,
        h.received,
        h.fake,
        h.sleeps.delays,
    )
