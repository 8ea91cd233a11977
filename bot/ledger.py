"""Plain-Python record of a session: orders, round-trip trades and the equity curve.

The Backtrader adapter (and later the live broker) report events here; the run folder is
written from it. Nothing in this module knows about Backtrader.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd
from loguru import logger

ORDER_COLUMNS = ["order_id", "created", "symbol", "side", "size", "type", "status",
                 "fill_time", "fill_price", "commission", "reason"]
TRADE_COLUMNS = ["symbol", "entry_time", "exit_time", "side", "size", "entry_price", "exit_price",
                 "pnl", "pnl_net", "commission", "exit_reason", "entry_prob", "slippage"]
EQUITY_COLUMNS = ["timestamp", "equity", "cash", "exposure"]


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
class OpenTrade:
    symbol: str
    entry_time: pd.Timestamp
    size: float
    entry_price: float
    commission: float
    slippage: float
    entry_prob: float | None


@dataclass
class Ledger:
    """Collects orders, trades and equity marks as the session runs."""

    orders: dict[str, OrderRecord] = field(default_factory=dict)
    trades: list[dict] = field(default_factory=list)
    open_trades: dict[str, OpenTrade] = field(default_factory=dict)
    equity: list[tuple] = field(default_factory=list)

    def order_submitted(self, rec: OrderRecord) -> None:
        self.orders[rec.order_id] = rec

    def order_status(self, order_id: str, status: str) -> None:
        self.orders[order_id].status = status

    def order_filled(self, order_id: str, time: pd.Timestamp, price: float, size: float,
                     commission: float, slippage: float, prob: float | None = None) -> None:
        """Record a completed fill and open or close the symbol's round trip."""
        rec = self.orders[order_id]
        rec.status, rec.fill_time, rec.fill_price, rec.commission = "filled", time, price, commission
        if rec.side == "buy":
            self.open_trades[rec.symbol] = OpenTrade(rec.symbol, time, size, price, commission, slippage, prob)
        else:
            self._close(rec.symbol, time, price, commission, slippage, rec.reason)

    def mark_to_close(self, symbol: str, time: pd.Timestamp, price: float, commission: float) -> None:
        """Close a still-open trade at the last bar's close (exit_reason ``end``)."""
        self._close(symbol, time, price, commission, 0.0, "end")

    def _close(self, symbol: str, time, price: float, commission: float, slippage: float, reason: str) -> None:
        t = self.open_trades.pop(symbol, None)
        if t is None:  # live: a position the session did not open (outside the bot, or its entry unknown)
            logger.warning("{}: a sell at {} closes no round trip this session knows of", symbol, time)
            return
        pnl = (price - t.entry_price) * t.size
        comm = t.commission + commission
        self.trades.append(dict(
            symbol=symbol, entry_time=t.entry_time, exit_time=time, side="long", size=t.size,
            entry_price=t.entry_price, exit_price=price, pnl=pnl, pnl_net=pnl - comm, commission=comm,
            exit_reason=reason, entry_prob=t.entry_prob, slippage=t.slippage + slippage,
        ))

    def mark_equity(self, time: pd.Timestamp, equity: float, cash: float, exposure: float) -> None:
        self.equity.append((time, equity, cash, exposure))

    # ----------------------------------------------------------------- frames
    def orders_frame(self) -> pd.DataFrame:
        rows = [asdict(o) for o in self.orders.values()]
        return pd.DataFrame(rows, columns=ORDER_COLUMNS)

    def trades_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.trades, columns=TRADE_COLUMNS)

    def equity_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.equity, columns=EQUITY_COLUMNS)
