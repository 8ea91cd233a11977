"""Plain-Python record of a session: orders, round-trip trades and the equity curve.

The Backtrader adapter (and later the live broker) report events here; the run folder is
written from it. Nothing in this module knows about Backtrader.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd
from loguru import logger

from bot.roundtrips import TRADE_COLUMNS, OpenTrade, RoundTrips

__all__ = ["ORDER_COLUMNS", "TRADE_COLUMNS", "EQUITY_COLUMNS", "OPENING_REASONS", "Ledger", "OpenTrade", "OrderRecord"]

ORDER_COLUMNS = [
    "order_id",
    "created",
    "symbol",
    "side",
    "size",
    "type",
    "status",
    "fill_time",
    "fill_price",
    "commission",
    "reason",
]
EQUITY_COLUMNS = ["timestamp", "equity", "cash", "exposure"]
OPENING_REASONS = frozenset({"entry", "rebalance"})  # order reasons that may open a position


@dataclass
class OrderRecord:
    order_id: str
    created: pd.Timestamp
    symbol: str
    side: str
    size: float
    type: str
    status: str = "submitted"
    fill_time: pd.Timestamp | None = None
    fill_price: float | None = None
    commission: float = 0.0
    reason: str = ""


@dataclass
class Ledger:
    """Collects orders, trades and equity marks as the session runs."""

    orders: dict[str, OrderRecord] = field(default_factory=dict)
    round_trips: RoundTrips = field(default_factory=RoundTrips)
    equity: list[tuple] = field(default_factory=list)

    @property
    def open_trades(self) -> dict[str, OpenTrade]:
        return self.round_trips.open

    @property
    def trades(self) -> list[dict]:
        return self.round_trips.closed

    def order_submitted(self, rec: OrderRecord) -> None:
        self.orders[rec.order_id] = rec

    def order_status(self, order_id: str, status: str) -> None:
        self.orders[order_id].status = status

    def order_filled(
        self,
        order_id: str,
        time: pd.Timestamp,
        price: float,
        size: float,
        commission: float,
        slippage: float,
        prob: float | None = None,
    ) -> None:
        """Record a completed fill and open, add to, reduce, close or flip the symbol's round trip."""
        rec = self.orders[order_id]
        rec.status, rec.fill_time, rec.fill_price, rec.commission = "filled", time, price, commission
        unmatched = self.round_trips.fill(
            rec.symbol,
            time,
            rec.side,
            size,
            price,
            commission,
            slippage,
            prob,
            rec.reason,
            opens=rec.reason in OPENING_REASONS,
        )
        if unmatched:  # live: a position the session did not open (outside the bot, or its entry unknown)
            logger.warning(
                "{}: a {} of {:g} at {} closes no round trip this session knows of",
                rec.symbol,
                rec.side,
                unmatched,
                time,
            )

    def charge_borrow(self, symbol: str, amount: float) -> None:
        """Add a short's borrow fee for one bar to its open trade (``borrow`` in trades.csv)."""
        if not self.round_trips.charge(symbol, amount):
            logger.warning("{}: a borrow fee of {:g} with no open trade", symbol, amount)

    def mark_to_close(self, symbol: str, time: pd.Timestamp, price: float, commission: float) -> None:
        """Close a still-open trade at the last bar's close (exit_reason ``end``)."""
        self.round_trips.close_all(symbol, time, price, commission, "end")

    def mark_equity(self, time: pd.Timestamp, equity: float, cash: float, exposure: float) -> None:
        self.equity.append((time, equity, cash, exposure))

    # ----------------------------------------------------------------- frames
    def orders_frame(self) -> pd.DataFrame:
        rows = [asdict(o) for o in self.orders.values()]
        return pd.DataFrame(rows, columns=ORDER_COLUMNS)

    def trades_frame(self) -> pd.DataFrame:
        return self.round_trips.frame()

    def equity_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.equity, columns=EQUITY_COLUMNS)
