"""Round-trip trades from fills, long and short: the one trade builder of backtests and live reports.

A symbol's fills make a signed position. A fill in the position's direction adds to the open trade
at the average entry price; one against it closes part or all of it and writes a trade row for the
closed size (entry commission and slippage shared pro rata), as vectorbt's exit trades do; what is
left of a fill after it closed the trade opens a trade the other way (a flip) when the fill may open
positions. ``pnl`` is ``(exit - entry) x size`` for a long and ``(entry - exit) x size`` for a short;
``commission`` covers both legs (run-folder contract); ``borrow`` is the borrow fee a short paid while
open (``charge``); ``pnl_net = pnl - commission - borrow``. Nothing here knows about Backtrader or venues.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

TRADE_COLUMNS = [
    "symbol",
    "entry_time",
    "exit_time",
    "side",
    "size",
    "entry_price",
    "exit_price",
    "pnl",
    "pnl_net",
    "commission",
    "exit_reason",
    "entry_prob",
    "slippage",
    "borrow",
]
_EPS = 1e-12


@dataclass
class OpenTrade:
    symbol: str
    entry_time: pd.Timestamp
    side: str  # "long" | "short"
    size: float  # positive
    entry_price: float
    commission: float
    slippage: float
    entry_prob: float | None
    borrow: float = 0.0  # borrow fees paid so far (shorts)

    @property
    def signed_size(self) -> float:
        return self.size if self.side == "long" else -self.size


@dataclass
class RoundTrips:
    """Open trades per symbol and the closed trade rows, fed fill by fill."""

    open: dict[str, OpenTrade] = field(default_factory=dict)
    closed: list[dict] = field(default_factory=list)

    def fill(
        self,
        symbol: str,
        time: pd.Timestamp,
        side: str,
        qty: float,
        price: float,
        commission: float,
        slippage: float = 0.0,
        prob: float | None = None,
        reason: str = "signal",
        opens: bool = True,
    ) -> float:
        """Apply one fill (``side`` "buy"/"sell", ``qty`` > 0); return the quantity that matched no trade.

        ``opens=False`` (an exit order): a fill finding no trade to close opens none and is returned as
        unmatched, as is what exceeds the trade it closes.
        """
        direction = "long" if side == "buy" else "short"
        t = self.open.get(symbol)
        if t is not None and t.side == direction:
            t.entry_price = (t.entry_price * t.size + price * qty) / (t.size + qty)
            t.size += qty
            t.commission += commission
            t.slippage += slippage
            return 0.0
        rest = qty
        if t is not None:
            closed = min(qty, t.size)
            self._close(t, time, price, commission * closed / qty, slippage * closed / qty, closed, reason)
            rest = qty - closed
        if rest <= _EPS * max(1.0, qty):
            return 0.0
        if not opens:
            return rest
        share = rest / qty
        self.open[symbol] = OpenTrade(symbol, time, direction, rest, price, commission * share, slippage * share, prob)
        return 0.0

    def charge(self, symbol: str, amount: float) -> bool:
        """Add a borrow fee to the symbol's open trade; return False when none is open."""
        t = self.open.get(symbol)
        if t is None:
            return False
        t.borrow += amount
        return True

    def close_all(self, symbol: str, time: pd.Timestamp, price: float, commission: float, reason: str = "end") -> None:
        """Close the symbol's open trade at ``price`` (a mark, e.g. the last bar's close)."""
        t = self.open.get(symbol)
        if t is not None:
            self._close(t, time, price, commission, 0.0, t.size, reason)

    def _close(
        self, t: OpenTrade, time, price: float, commission: float, slippage: float, closed: float, reason: str
    ) -> None:
        share = closed / t.size
        entry_comm, entry_slip, borrow = t.commission * share, t.slippage * share, t.borrow * share
        sign = 1.0 if t.side == "long" else -1.0
        pnl = sign * (price - t.entry_price) * closed
        comm = entry_comm + commission
        self.closed.append(
            dict(
                symbol=t.symbol,
                entry_time=t.entry_time,
                exit_time=time,
                side=t.side,
                size=closed,
                entry_price=t.entry_price,
                exit_price=price,
                pnl=pnl,
                pnl_net=pnl - comm - borrow,
                commission=comm,
                exit_reason=reason,
                entry_prob=t.entry_prob,
                slippage=entry_slip + slippage,
                borrow=borrow,
            )
        )
        t.size -= closed
        t.commission -= entry_comm
        t.slippage -= entry_slip
        t.borrow -= borrow
        if t.size <= _EPS * max(1.0, closed):
            del self.open[t.symbol]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.closed, columns=TRADE_COLUMNS)
