"""An in-memory paper venue (:class:`~bot.venues.base.VenueClient`) that fills like a backtest.

Bars come from a *source* with the venue data interface (``clock`` and ``get_bars``): a
:class:`~bot.live.replay.ReplayBars` over CSV/sample data, or a real venue's market data for
dry runs. :meth:`PaperVenue.sync` processes every bar the source has closed since the last call,
in time order, with Backtrader's BackBroker rules (:mod:`bot.live.paper_fills`):

* a market order fills at the open of the first bar after the one it was placed on;
* bracket exits (``<id>-sl`` stop or trailing stop, ``<id>-tp`` limit; one cancels the other)
  become active on the bar after their entry filled, stop first when both could trade;
* commission is ``commission`` x traded value, taken from cash; a buy that cash cannot pay
  for is rejected; only what is held can be sold, unless ``shorts``: then a sell when flat (or
  short) opens (adds to) a short, its proceeds credited to cash, and equity is cash plus the
  signed positions at the last close. No order flips a position (a sell larger than the long,
  a buy larger than the short is rejected, as on Alpaca). Each bar whose close finds a short
  open pays ``|size| x close x borrow_per_bar`` from cash, as backtests charge ``broker.short_fee``.

``get_bars`` only returns bars already processed, so a position never lags the bars a
strategy sees. With a ``journal`` the whole state is saved after each change and reloaded on
start-up, so a restarted session resumes with its cash, positions and working orders.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pandas as pd

from bot.errors import OrderRejectedError
from bot.live import paper_fills as pf
from bot.live.journal import Journal
from bot.orders import OrderRequest, Side
from bot.venues.base import timeframe_delta
from bot.venues.types import Account, Fill, OrderState, OrderStatus

STATE_KEY = "paper_venue"
_OPEN = ("held", "new")


class BarSource(Protocol):
    def clock(self) -> pd.Timestamp: ...

    def get_bars(
        self, symbol: str, timeframe: str, start: pd.Timestamp | None = None, limit: int | None = None
    ) -> pd.DataFrame: ...


# "held": a bracket exit waiting for its entry to fill (reported to callers as "new")
PaperStatus = Literal["held", "new", "partially_filled", "filled", "canceled", "rejected"]


@dataclass
class PaperOrder:
    seq: int
    cid: str
    symbol: str
    side: Side
    qty: float
    type: str
    after: str  # ISO start of the bar it was placed on: it trades on later bars only
    created: str
    limit: float | None = None
    stop: float | None = None
    trail: float | None = None
    status: PaperStatus = "new"
    filled_qty: float = 0.0
    avg_price: float | None = None
    commission: float = 0.0
    updated: str = ""
    parent: str | None = None
    legs: list[str] = field(default_factory=list)


def _level(price: float | None) -> float:
    """Return a limit or stop order's price (every such order is created with one)."""
    if price is None:
        raise TypeError("paper order has no limit/stop price")
    return float(price)


class PaperVenue:
    """Simulated fills over real or replayed bars. ``trail_percent`` makes the stop exit trail."""

    supports_trailing = True

    def __init__(
        self,
        source: BarSource,
        symbols: Sequence[str],
        timeframe: str,
        *,
        cash: float,
        commission: float,
        slippage: float,
        journal: Journal | None = None,
        currency: str = "USD",
        name: str = "paper",
        shorts: bool = False,
        borrow_per_bar: float = 0.0,
    ):
        self.source, self.symbols, self.timeframe = source, list(symbols), timeframe
        self.shorts, self.borrow_per_bar = shorts, borrow_per_bar
        self.commission, self.slippage, self.currency, self.name = commission, slippage, currency, name
        self._journal = journal
        self._holding = self._dirty = False  # hold_saves()
        saved = journal.get_state(STATE_KEY) if journal is not None else None
        self._cash: float = saved["cash"] if saved else float(cash)
        self._pos: dict[str, float] = dict(saved["positions"]) if saved else {}
        self._marks: dict[str, float] = dict(saved["marks"]) if saved else {}
        self._done: dict[str, str] = dict(saved["processed"]) if saved else {}
        self._orders: dict[str, PaperOrder] = {o["cid"]: PaperOrder(**o) for o in (saved["orders"] if saved else [])}
        self._fills: list[dict] = list(saved["fills"]) if saved else []
        self._seq: int = saved["seq"] if saved else 0
        if not saved:
            self._start_marks()
            self._save()

    # ---- VenueClient ------------------------------------------------------------------
    def clock(self) -> pd.Timestamp:
        return self.source.clock()

    def get_bars(
        self, symbol: str, timeframe: str, start: pd.Timestamp | None = None, limit: int | None = None
    ) -> pd.DataFrame:
        """Return the source's closed bars, up to the last bar this venue has processed."""
        bars = self.source.get_bars(symbol, timeframe, start=start)
        done = self._done.get(symbol)
        if done is not None:
            bars = bars[bars.index <= pd.Timestamp(done)]
        return bars.iloc[-limit:] if limit else bars

    def account(self) -> Account:
        equity = self._cash + sum(q * self._marks.get(s, 0.0) for s, q in self._pos.items())
        return Account(cash=self._cash, equity=equity, currency=self.currency)

    def positions(self) -> dict[str, float]:
        return {s: q for s, q in self._pos.items() if abs(q) > 1e-12}

    def submit_order(self, req: OrderRequest, trail_percent: float | None = None) -> OrderState:
        """Accept ``req`` once (a known client id returns the existing order)."""
        if req.client_order_id in self._orders:
            return self._state(self._orders[req.client_order_id])
        self._validate(req)
        order = self._new(req.client_order_id, req.symbol, req.side, req.qty, req.type, req.limit_price, req.stop_price)
        exit_side: Side = "sell" if req.side == "buy" else "buy"
        if req.stop_loss is not None:
            kind = "ts" if trail_percent else "sl"
            leg = self._new(
                f"{req.client_order_id}-{kind}",
                req.symbol,
                exit_side,
                req.qty,
                "stop",
                None,
                req.stop_loss,
                status="held",
                parent=order.cid,
            )
            leg.trail = trail_percent
            order.legs.append(leg.cid)
        if req.take_profit is not None:
            leg = self._new(
                f"{req.client_order_id}-tp",
                req.symbol,
                exit_side,
                req.qty,
                "limit",
                req.take_profit,
                None,
                status="held",
                parent=order.cid,
            )
            order.legs.append(leg.cid)
        self._save()
        return self._state(order)

    def get_order(self, client_order_id: str, symbol: str | None = None) -> OrderState | None:
        order = self._orders.get(client_order_id)
        return None if order is None else self._state(order)

    def resolve_order(
        self, client_order_id: str, symbol: str | None = None, since: pd.Timestamp | None = None
    ) -> OrderState | None:
        """Return the order (the paper venue answers consistently at once)."""
        return self.get_order(client_order_id)

    def cancel_order(self, client_order_id: str, symbol: str | None = None) -> OrderState | None:
        """Cancel an open order; a parent takes its exits along, an exit its sibling."""
        order = self._orders.get(client_order_id)
        if order is None:
            return None
        if order.status in _OPEN:
            for o in self._linked(order):
                if o.status in _OPEN:
                    o.status, o.updated = "canceled", str(self.clock())
            self._save()
        return self._state(order)

    def open_orders(self) -> list[OrderState]:
        return [self._state(o) for o in self._orders.values() if o.status in _OPEN]

    def orders(self, since: pd.Timestamp | None = None) -> list[OrderState]:
        """Return every order (exits included) created at or after ``since``, oldest first."""
        out = [self._state(o) for o in sorted(self._orders.values(), key=lambda o: o.seq)]
        return [o for o in out if since is None or o.created is None or o.created >= since]

    def fills(self, since: pd.Timestamp | None = None) -> list[Fill]:
        out = [Fill(**{**f, "time": pd.Timestamp(f["time"])}) for f in self._fills]
        return [f for f in out if since is None or f.time >= since]

    def sync(self) -> None:
        """Process every bar the source closed since the last call (fills, exits, marks)."""
        new: dict[pd.Timestamp, dict[str, pf.Bar]] = {}
        for sym in self.symbols:
            done = self._done.get(sym)
            start = pd.Timestamp(done) + pd.Timedelta(1, "ns") if done else None
            bars = self.source.get_bars(sym, self.timeframe, start=start)
            for t, b in bars.iterrows():
                new.setdefault(t, {})[sym] = pf.Bar(b["open"], b["high"], b["low"], b["close"])
        if not new:
            return
        for t in sorted(new):
            self._on_step(t, new[t])
        self._save()

    # ---- simulation ---------------------------------------------------------------------
    def _on_step(self, t: pd.Timestamp, bars: dict[str, pf.Bar]) -> None:
        stamp = str(t)
        todo = [
            o for o in self._orders.values() if o.status == "new" and o.symbol in bars and pd.Timestamp(o.after) < t
        ]
        todo.sort(key=lambda o: o.seq)
        for order in todo:
            if order.status != "new":  # cancelled by a sibling on this bar
                continue
            bar = bars[order.symbol]
            price = self._price(order, bar)
            if price is None:
                if order.trail:
                    order.stop = pf.trail(order.side, _level(order.stop), bar.close, order.trail)
                continue
            self._execute(order, price, t)
        for sym, bar in bars.items():
            self._charge_borrow(sym, bar.close)
            self._marks[sym] = bar.close
            self._done[sym] = stamp

    def _charge_borrow(self, symbol: str, close: float) -> None:
        """Take a short's borrow fee for one bar from cash (the backtest adapter's rule)."""
        pos = self._pos.get(symbol, 0.0)
        if self.borrow_per_bar and pos < 0:
            fee = -pos * close * self.borrow_per_bar
            self._cash += -fee

    def _price(self, order: PaperOrder, bar: pf.Bar) -> float | None:
        if order.type == "market":
            return pf.market_fill(order.side, bar, self.slippage)
        if order.type == "limit":
            return pf.limit_fill(order.side, bar, _level(order.limit), self.slippage)
        return pf.stop_fill(order.side, bar, _level(order.stop), self.slippage)

    def _execute(self, order: PaperOrder, price: float, t: pd.Timestamp) -> None:
        qty, now = order.qty, str(self.clock())
        value = qty * price
        comm = value * self.commission
        held = self._pos.get(order.symbol, 0.0)
        if order.side == "buy" and self._cash - value - comm < 0:
            self._reject(order, now)
            return
        if not self._fits(order.side, qty, held):
            self._reject(order, now)
            return
        sign = 1.0 if order.side == "buy" else -1.0
        self._cash -= sign * value + comm
        self._pos[order.symbol] = held + sign * qty
        order.status, order.filled_qty, order.avg_price = "filled", qty, price
        order.commission, order.updated = comm, now
        self._seq += 1
        self._fills.append(
            dict(
                client_order_id=order.cid,
                venue_order_id=f"paper-{order.seq}",
                trade_id=f"paper-fill-{self._seq}",
                symbol=order.symbol,
                side=order.side,
                qty=qty,
                price=price,
                commission=comm,
                commission_asset=self.currency,
                time=str(t),
            )
        )
        for cid in order.legs:
            leg = self._orders[cid]
            if leg.status == "held":
                leg.status, leg.after, leg.updated = "new", str(t), now
        if order.parent is not None:
            for o in self._linked(order):
                if o.status in _OPEN:
                    o.status, o.updated = "canceled", now

    def _reject(self, order: PaperOrder, now: str) -> None:
        for o in [order, *[self._orders[c] for c in order.legs]]:
            if o.status in _OPEN:
                o.status, o.updated = ("rejected" if o is order else "canceled"), now

    # ---- helpers ----------------------------------------------------------------------
    def _validate(self, req: OrderRequest) -> None:
        if req.symbol not in self.symbols:
            raise OrderRejectedError(f"paper: unknown symbol {req.symbol}")
        held = self._pos.get(req.symbol, 0.0)
        if req.side == "sell" and (held > 1e-9 or not self.shorts) and not req.is_bracket:
            if held + 1e-9 < req.qty:
                raise OrderRejectedError(f"paper: cannot sell {req.qty} {req.symbol}, holding {held}")
        if req.side == "buy" and not self._fits("buy", req.qty, held):
            raise OrderRejectedError(
                f"paper: a buy of {req.qty} {req.symbol} would turn the short of {-held:g} long; buy back {-held:g}"
            )
        if req.side == "buy":
            ref = req.limit_price or req.stop_price or self._marks.get(req.symbol)
            if ref is None:
                raise OrderRejectedError(f"paper: no price yet for {req.symbol}")
            need = req.qty * ref * (1 + self.commission)
            if need > self._cash - self._reserved() + 1e-9:
                raise OrderRejectedError(
                    f"paper: insufficient cash: need {need:.2f}, have {self._cash - self._reserved():.2f}"
                )

    def _fits(self, side: str, qty: float, held: float) -> bool:
        """Return whether an order of ``qty`` may trade against the signed holding ``held``:
        a sell of at most the long (or, with ``shorts``, any sell when flat or short), a buy of
        at most the short when short."""
        if side == "sell":
            return held + 1e-9 >= qty or (self.shorts and held <= 1e-9)
        return held >= -1e-9 or qty <= -held + 1e-9

    def _reserved(self) -> float:
        """Return the cash that open buy orders may still take (a short's buy exits are paid
        for by its proceeds)."""
        total = 0.0
        for o in self._orders.values():
            if o.side == "buy" and o.status == "new" and o.parent is None:
                ref = o.limit or o.stop or self._marks.get(o.symbol, 0.0)
                total += o.qty * ref * (1 + self.commission)
        return total

    def _new(
        self,
        cid: str,
        symbol: str,
        side: Side,
        qty: float,
        kind: str,
        limit: float | None,
        stop: float | None,
        status: PaperStatus = "new",
        parent: str | None = None,
    ) -> PaperOrder:
        self._seq += 1
        now = str(self.clock())
        after = self._done.get(symbol) or str(self.clock() - timeframe_delta(self.timeframe))
        order = PaperOrder(
            self._seq,
            cid,
            symbol,
            side,
            float(qty),
            kind,
            after,
            now,
            limit,
            stop,
            status=status,
            updated=now,
            parent=parent,
        )
        self._orders[cid] = order
        return order

    def _linked(self, order: PaperOrder) -> list[PaperOrder]:
        if order.parent is not None:  # an exit: itself and its sibling
            return [self._orders[c] for c in self._orders[order.parent].legs]
        return [order, *[self._orders[c] for c in order.legs]]

    def _state(self, o: PaperOrder) -> OrderState:
        status: OrderStatus = "new" if o.status == "held" else o.status
        legs = tuple(self._state(self._orders[c]) for c in o.legs)
        return OrderState(
            o.cid,
            f"paper-{o.seq}",
            o.symbol,
            o.side,
            o.qty,
            o.filled_qty,
            o.avg_price,
            status,
            pd.Timestamp(o.created),
            pd.Timestamp(o.updated) if o.updated else None,
            legs,
            o.limit,
            o.stop,
        )

    def _start_marks(self) -> None:
        for sym in self.symbols:
            last = self.source.get_bars(sym, self.timeframe, limit=1)
            if len(last):
                self._done[sym] = str(last.index[-1])
                self._marks[sym] = float(last["close"].iloc[-1])

    @contextmanager
    def hold_saves(self) -> Iterator[None]:
        """Save the state once at the end instead of after every change inside (a batch of sends)."""
        if self._holding:
            yield
            return
        self._holding, self._dirty = True, False
        try:
            yield
        finally:
            self._holding = False
            if self._dirty:
                self._save()

    def _save(self) -> None:
        if self._journal is None:
            return
        if self._holding:
            self._dirty = True
            return
        self._journal.put_state(STATE_KEY, self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        """Return the whole state as JSON-ready data."""
        return dict(
            cash=self._cash,
            positions=self._pos,
            marks=self._marks,
            processed=self._done,
            orders=[{**vars(o), "legs": list(o.legs)} for o in self._orders.values()],
            fills=self._fills,
            seq=self._seq,
        )
