"""Plain value types exchanged with venue clients (no SDK types leak out of the adapters)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from bot.orders import Side

OrderStatus = Literal["new", "partially_filled", "filled", "canceled", "rejected"]
OPEN_STATUSES: tuple[str, ...] = ("new", "partially_filled")
FINAL_STATUSES: tuple[str, ...] = ("filled", "canceled", "rejected")


@dataclass(frozen=True)
class OrderState:
    """An order as the venue reports it. ``qty`` and ``filled_qty`` are in base units."""

    client_order_id: str
    venue_id: str
    symbol: str
    side: Side
    qty: float
    filled_qty: float
    avg_fill_price: float | None
    status: OrderStatus
    created: pd.Timestamp | None
    updated: pd.Timestamp | None
    legs: tuple[OrderState, ...] = ()  # exits the venue created with this order (Alpaca bracket legs)
    limit_price: float | None = None
    stop_price: float | None = None

    @property
    def is_open(self) -> bool:
        """Return True while the order can still fill."""
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class Fill:
    """One execution. ``commission`` is in ``commission_asset`` (base, quote or a third asset such
    as BNB); ``commission_quote`` is its value in the quote currency when the venue client knows
    it (None: unknown, e.g. a third asset the venue quotes no price for)."""

    client_order_id: str | None
    venue_order_id: str
    trade_id: str
    symbol: str
    side: Side
    qty: float
    price: float
    commission: float
    commission_asset: str | None
    time: pd.Timestamp
    commission_quote: float | None = None


@dataclass(frozen=True)
class Account:
    """Cash and equity (cash + holdings marked at the last price) in ``currency``."""

    cash: float
    equity: float
    currency: str


@dataclass(frozen=True)
class ExitReport:
    """What a venue client that arms bracket exits itself (CCXT) did about one entry's exits.

    ``kind``: ``placed`` (``legs`` are the exit orders now working), ``rejected`` (the venue
    refused them: ``error``; the entry is no longer registered for arming) or ``failed`` (a
    transient error: arming is tried again at the next sync). ``intended`` lists the exits as
    (client id, kind, price) and ``qty`` their size, for the journal.
    """

    kind: Literal["placed", "rejected", "failed"]
    entry_id: str
    symbol: str
    qty: float
    intended: tuple[tuple[str, str, float], ...] = ()
    legs: tuple[OrderState, ...] = ()
    error: str | None = None
    # rejected: refused after an earlier send whose outcome stayed unknown (it may still land);
    # failed: a send of the exits may have reached the venue (else nothing was sent)
    maybe_placed: bool = False
