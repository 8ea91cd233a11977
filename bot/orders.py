"""Order values shared by the engine, the live router and the venue clients, and the interfaces
the engine's live broker and feeds need from the live layer (which passes its router and poller in).

Core layer: imports nothing from the project, so every layer above may use these types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import pandas as pd

Side = Literal["buy", "sell"]
OrderKind = Literal["market", "limit", "stop"]


@dataclass(frozen=True)
class OrderRequest:
    """An order to place. ``client_order_id`` must be deterministic: it makes retries safe.

    ``take_profit`` (limit price) and ``stop_loss`` (stop price) turn the order into a
    bracket: once it has filled, exits for the filled size are working at the venue. The same
    value travels from the engine's live broker through the journal-first router to the venue.
    """

    client_order_id: str
    symbol: str
    side: Side
    qty: float
    type: OrderKind = "market"
    limit_price: float | None = None
    stop_price: float | None = None
    take_profit: float | None = None
    stop_loss: float | None = None
    trail_percent: float | None = None  # a trailing stop exit, where the venue has them
    # what the journal records about the decision (venue clients ignore these)
    intent: str = "entry"
    bar_time: pd.Timestamp | None = None
    model_version: str | None = None
    parent_id: str | None = None

    def __post_init__(self) -> None:
        if not self.client_order_id:
            raise ValueError("client_order_id must not be empty")
        if self.side not in ("buy", "sell"):
            raise ValueError(f"side must be 'buy' or 'sell', not {self.side!r}")
        if not self.qty > 0:
            raise ValueError(f"qty must be positive, not {self.qty!r}")
        if self.type not in ("market", "limit", "stop"):
            raise ValueError(f"type must be market, limit or stop, not {self.type!r}")
        if self.type == "limit" and self.limit_price is None:
            raise ValueError("a limit order needs limit_price")
        if self.type == "stop" and self.stop_price is None:
            raise ValueError("a stop order needs stop_price")

    @property
    def is_bracket(self) -> bool:
        """Return True if exits are attached."""
        return self.take_profit is not None or self.stop_loss is not None


@dataclass(frozen=True)
class OrderEvent:
    """A fill (``qty`` > 0) or a final status of one of our orders.

    For a bracket exit, ``client_order_id`` is the entry's id and ``leg`` the exit kind. A
    ``filled`` event with ``qty`` 0 completes an order the venue filled at a smaller size than
    asked (it rounded the size).
    """

    client_order_id: str
    status: str
    qty: float = 0.0
    price: float = 0.0
    commission: float = 0.0
    time: pd.Timestamp | None = None
    leg: str | None = None


class OrderRouting(Protocol):
    """What the live broker needs from the journal-first router (``bot.live.router.OrderRouter``)."""

    journal: Any  # get_order(client_order_id) -> journaled row or None
    venue: Any  # account(), positions()

    def poll(self, bar_time: pd.Timestamp | None) -> Iterable[OrderEvent]: ...
    def batch(self) -> AbstractContextManager[None]: ...
    def journal_ahead(self, tickets: list[OrderRequest]) -> None: ...
    def send(self, t: OrderRequest) -> Any: ...
    def cancel(self, client_order_id: str, symbol: str) -> Any: ...
    def cancel_exits(self, symbol: str, side: str) -> list[str]: ...
    def exits_cleared(self, symbol: str, ids: list[str]) -> bool: ...
    def guard_exits(
        self, held: Mapping[str, float], busy: AbstractSet[str] = ..., dust: Callable[[str, float], bool] | None = ...
    ) -> list[str]: ...


class BarSource(Protocol):
    """What the live feeds and broker need from the bar poller (``bot.live.bars.BarPoller``)."""

    @property
    def history(self) -> Mapping[str, pd.DataFrame]: ...

    def heartbeat(self, before_poll: Callable[[], Any] | None = None) -> Any: ...
    def pending(self) -> bool: ...
    def next_bar(self, symbol: str) -> Any: ...
    def finished(self, symbol: str) -> bool: ...


__all__ = ["BarSource", "OrderEvent", "OrderKind", "OrderRequest", "OrderRouting", "Side"]
