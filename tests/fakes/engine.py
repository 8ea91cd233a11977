"""Venue-neutral core of the fake venues: bars revealed over time, orders, fills, balances.

The HTTP fakes (``alpaca.py``, ``binance.py``) translate their REST dialect into calls on
:class:`Engine`. Rules (the same for every fake):

* bars are revealed one close time at a time by :meth:`Engine.advance`; the venue clock is
  the close of the last revealed bar and only closed bars exist for clients;
* a market order fills at the open of the next bar revealed after it was submitted;
* limit/stop orders (and bracket / OCO legs) trigger on later bars' high/low: a gap through
  the price fills at the open, otherwise at the order price; when both legs of an OCO
  group trigger in one bar the stop leg wins (pessimistic);
* bracket legs become active after the parent has filled, from the next bar on;
* an order flagged "partial" fills in two parts on two successive eligible bars (the flag
  reaches every leg of an OCO request);
* an order flagged "split" fills each bar's quantity in two trades at two prices (half at the
  fill price, half 0.1 % worse for market/stop orders, 0.1 % better for limit orders, kept
  inside the bar's range), each with its own commission;
* the first fill (even partial) of an OCO / bracket leg ends its open sibling with
  ``oco_sibling_status`` ("canceled" by default; Binance expires it);
* :meth:`Engine.cancel` with ``delay=N`` leaves the order open (``cancel_bars`` set) for the
  next N revealed bars, during which it still holds its quantity and may still fill; then it
  is canceled. A fill that completes it during that window means the cancel failed;
* fees are ``fee_rate`` of the notional, taken from the asset received when
  ``fee_in_received`` (spot crypto: a buy receives ``qty * (1 - fee)`` of the base asset),
  otherwise from cash; an instrument with a ``fee_asset`` (e.g. BNB) pays the fee in that
  asset, valued at the last close of ``<fee_asset><quote>``, while its balance covers it,
  else falls back to the rule above.
"""

from __future__ import annotations

import itertools
import math
import threading
from dataclasses import dataclass, field

import pandas as pd

OPEN_STATUSES = ("new", "held", "partially_filled")
SPLIT_SPREAD = 0.001  # price gap between the two trades of a "split" fill


class Rejection(Exception):
    """A request the venue refuses; ``kind`` is mapped to a venue error by the HTTP layer."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class Instrument:
    """One tradable symbol of a fake venue and its bars (index: UTC bar start times)."""

    symbol: str
    base: str
    quote: str
    bars: pd.DataFrame
    fee_rate: float = 0.0
    fee_in_received: bool = False
    step: float = 0.0
    shortable: bool = False
    fee_asset: str | None = None


@dataclass
class FakeOrder:
    """An order as the engine holds it (prices in quote currency, times UTC)."""

    seq: int
    client_order_id: str
    symbol: str
    side: str
    qty: float
    type: str
    created: pd.Timestamp
    limit_price: float | None = None
    stop_price: float | None = None
    status: str = "new"
    filled_qty: float = 0.0
    filled_notional: float = 0.0
    commission: float = 0.0
    updated: pd.Timestamp | None = None
    filled_at: pd.Timestamp | None = None
    canceled_at: pd.Timestamp | None = None
    eligible_from: pd.Timestamp | None = None
    order_class: str = "simple"
    parent: int | None = None
    legs: list[int] = field(default_factory=list)
    oco_group: int | None = None
    leg_role: str | None = None
    parts: int = 1
    triggered: bool = False
    split: bool = False
    cancel_bars: int | None = None  # bars left before a requested (delayed) cancel is final

    @property
    def remaining(self) -> float:
        return max(self.qty - self.filled_qty, 0.0)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def avg_price(self) -> float | None:
        return self.filled_notional / self.filled_qty if self.filled_qty > 0 else None


@dataclass(frozen=True)
class FakeFill:
    """One execution."""

    seq: int
    order_seq: int
    symbol: str
    side: str
    qty: float
    price: float
    commission: float
    commission_asset: str
    time: pd.Timestamp


def fill_price(order: FakeOrder, bar: pd.Series) -> float | None:
    """Return the price ``order`` fills at on ``bar``, or None if it does not trigger."""
    o, h, low = float(bar["open"]), float(bar["high"]), float(bar["low"])
    if order.type == "market" or order.triggered:
        return o
    buy = order.side == "buy"
    if order.type == "limit":
        lim = float(order.limit_price)
        if buy:
            return o if o <= lim else (lim if low <= lim else None)
        return o if o >= lim else (lim if h >= lim else None)
    stop = float(order.stop_price)
    if buy:
        return o if o >= stop else (stop if h >= stop else None)
    return o if o <= stop else (stop if low <= stop else None)


def round_down(qty: float, step: float) -> float:
    """Truncate ``qty`` to a multiple of ``step`` (no-op when step is 0)."""
    if step <= 0:
        return qty
    return math.floor(qty / step + 1e-9) * step


class Engine:
    """Shared state of one fake venue. All public methods are thread-safe."""

    def __init__(
        self,
        instruments: list[Instrument],
        timeframe: pd.Timedelta,
        warmup: int,
        balances: dict[str, float],
    ):
        self.instruments = {i.symbol: i for i in instruments}
        self.timeframe = pd.Timedelta(timeframe)
        self.lock = threading.RLock()
        self.balances: dict[str, float] = dict(balances)
        self.cost: dict[str, float] = {}
        self.orders: dict[int, FakeOrder] = {}
        self.fills: list[FakeFill] = []
        self._seq = itertools.count(1)
        self._fill_seq = itertools.count(1)
        self._oco_seq = itertools.count(1)
        self.partial_next = 0
        self.split_next = 0
        self.oco_sibling_status = "canceled"
        closes = sorted({t + self.timeframe for i in instruments for t in i.bars.index})
        if not closes or warmup < 1 or warmup > len(closes):
            raise ValueError(f"warmup must be in 1..{len(closes)}")
        self._timeline = closes
        self._pos = warmup - 1
        self.clock: pd.Timestamp = closes[self._pos]

    # ---- bars and clock -------------------------------------------------------------
    def closed_bars(self, symbol: str) -> pd.DataFrame:
        """Return the bars of ``symbol`` whose close is at or before the venue clock."""
        bars = self.instruments[symbol].bars
        return bars[bars.index + self.timeframe <= self.clock]

    def last_price(self, symbol: str) -> float:
        """Return the last revealed close of ``symbol``."""
        bars = self.closed_bars(symbol)
        if bars.empty:
            raise Rejection("no_price", f"no closed bar for {symbol}")
        return float(bars["close"].iloc[-1])

    def remaining_bars(self) -> int:
        """Return how many more times :meth:`advance` can move the clock."""
        return len(self._timeline) - 1 - self._pos

    def advance(self, n: int = 1) -> pd.Timestamp:
        """Reveal the next ``n`` bar closes, executing orders on each new bar."""
        for _ in range(n):
            with self.lock:
                if self.remaining_bars() <= 0:
                    raise IndexError("no more bars to reveal")
                before = self.clock
                self._pos += 1
                self.clock = self._timeline[self._pos]
                for symbol, inst in self.instruments.items():
                    ends = inst.bars.index + self.timeframe
                    new = inst.bars[(ends > before) & (ends <= self.clock)]
                    for start, bar in new.iterrows():
                        self._on_bar(symbol, start, bar)
                self._finish_cancels()
        return self.clock

    # ---- orders -------------------------------------------------------------------
    def find_by_client_id(self, client_order_id: str, open_only: bool = False) -> FakeOrder | None:
        """Return the most recent order with this client id (optionally only an open one)."""
        with self.lock:
            for order in reversed(list(self.orders.values())):
                if order.client_order_id == client_order_id and (order.is_open or not open_only):
                    return order
        return None

    def submit(
        self,
        client_order_id: str,
        symbol: str,
        side: str,
        qty: float,
        type: str,
        limit_price: float | None = None,
        stop_price: float | None = None,
        unique_cid: str = "all",
    ) -> FakeOrder:
        """Validate and accept a simple order; raise :class:`Rejection` if refused.

        ``unique_cid`` is "all" (the id may never be reused, like Alpaca) or "open" (unique
        among open orders, like Binance).
        """
        with self.lock:
            self._validate(client_order_id, symbol, side, qty, type, limit_price, stop_price, unique_cid)
            order = self._new_order(client_order_id, symbol, side, qty, type, limit_price, stop_price)
            self._check_funds(order)
            return order

    def submit_bracket(self, parent: FakeOrder, legs: list[tuple[str, str, float]]) -> list[FakeOrder]:
        """Attach exit legs ``(client_id, 'limit'|'stop', price)`` to ``parent`` as one OCO group."""
        with self.lock:
            parent.order_class = "bracket" if len(legs) > 1 else "oto"
            group = next(self._oco_seq)
            side = "sell" if parent.side == "buy" else "buy"
            out = []
            for cid, kind, price in legs:
                leg = self._new_order(
                    cid,
                    parent.symbol,
                    side,
                    parent.qty,
                    kind,
                    price if kind == "limit" else None,
                    price if kind == "stop" else None,
                )
                leg.status, leg.parent, leg.oco_group = "held", parent.seq, group
                leg.order_class, leg.leg_role = parent.order_class, kind
                parent.legs.append(leg.seq)
                out.append(leg)
            return out

    def submit_oco(self, side: str, symbol: str, qty: float, legs: list[tuple[str, str, float]]) -> list[FakeOrder]:
        """Accept two active exit orders of which the first to fill cancels the other."""
        with self.lock:
            for cid, kind, price in legs:
                self._validate(
                    cid,
                    symbol,
                    side,
                    qty,
                    kind,
                    price if kind == "limit" else None,
                    price if kind == "stop" else None,
                    "open",
                )
            group = next(self._oco_seq)
            partial, split = self.partial_next > 0, self.split_next > 0
            out = []
            for cid, kind, price in legs:
                leg = self._new_order(
                    cid,
                    symbol,
                    side,
                    qty,
                    kind,
                    price if kind == "limit" else None,
                    price if kind == "stop" else None,
                )
                leg.oco_group, leg.order_class, leg.leg_role = group, "oco", kind
                leg.parts, leg.split = (2 if partial else 1), split
                out.append(leg)
            self._check_funds(out[0])
            return out

    def cancel(self, order: FakeOrder, delay: int = 0) -> FakeOrder:
        """Cancel an open order (and its bracket legs / OCO siblings).

        With ``delay`` > 0 the cancel is only requested: the orders stay open (and fillable)
        for the next ``delay`` revealed bars, then become canceled (see the module doc).
        Cancelling an order whose cancel is already pending changes nothing.
        """
        with self.lock:
            if not order.is_open:
                raise Rejection("not_cancelable", f"order is {order.status}")
            for o in self._linked(order):
                if not o.is_open:
                    continue
                if delay > 0:
                    o.cancel_bars = o.cancel_bars or delay
                else:
                    o.status, o.canceled_at, o.updated = "canceled", self.clock, self.clock
            return order

    def reserved(self, asset: str) -> float:
        """Return the amount of ``asset`` held by open orders (sells: base, buys: quote)."""
        with self.lock:
            total, seen_groups = 0.0, set()
            for o in self.orders.values():
                if not o.is_open or o.status == "held":
                    continue
                inst = self.instruments[o.symbol]
                if o.oco_group is not None:
                    if o.oco_group in seen_groups:
                        continue
                    seen_groups.add(o.oco_group)
                if o.side == "sell" and inst.base == asset and not inst.shortable:
                    total += o.remaining
                elif o.side == "buy" and inst.quote == asset and o.type != "market":
                    total += o.remaining * float(o.limit_price or o.stop_price)
            return total

    def position(self, symbol: str) -> float:
        """Return the holding of ``symbol``'s base asset."""
        return self.balances.get(self.instruments[symbol].base, 0.0)

    def equity(self, quote: str) -> float:
        """Return cash plus holdings marked at the last close."""
        with self.lock:
            value = self.balances.get(quote, 0.0)
            for sym, inst in self.instruments.items():
                qty = self.balances.get(inst.base, 0.0)
                if qty and inst.quote == quote:
                    value += qty * self.last_price(sym)
            return value

    # ---- internals ----------------------------------------------------------------
    def _validate(self, cid, symbol, side, qty, type, limit_price, stop_price, unique_cid) -> None:
        if symbol not in self.instruments:
            raise Rejection("unknown_symbol", f"unknown symbol {symbol}")
        if side not in ("buy", "sell") or type not in ("market", "limit", "stop"):
            raise Rejection("invalid", f"invalid side/type {side}/{type}")
        inst = self.instruments[symbol]
        if not qty > 0 or (inst.step and abs(round_down(qty, inst.step) - qty) > 1e-12):
            raise Rejection("invalid_qty", f"invalid quantity {qty}")
        if (type == "limit" and not limit_price) or (type == "stop" and not stop_price):
            raise Rejection("invalid", f"{type} order needs a price")
        if self.find_by_client_id(cid, open_only=unique_cid == "open") is not None:
            raise Rejection("duplicate", f"client order id {cid} already used")

    def _new_order(self, cid, symbol, side, qty, type, limit_price, stop_price) -> FakeOrder:
        seq = next(self._seq)
        order = FakeOrder(
            seq,
            cid,
            symbol,
            side,
            float(qty),
            type,
            self.clock,
            limit_price,
            stop_price,
            updated=self.clock,
            eligible_from=self.clock,
        )
        if self.partial_next > 0:
            self.partial_next -= 1
            order.parts = 2
        if self.split_next > 0:
            self.split_next -= 1
            order.split = True
        self.orders[seq] = order
        return order

    def _check_funds(self, order: FakeOrder) -> None:
        inst = self.instruments[order.symbol]
        if order.side == "buy":
            price = order.limit_price or order.stop_price or self.last_price(order.symbol)
            need = order.qty * float(price) * (1 + (0 if inst.fee_in_received else inst.fee_rate))
            free = (
                self.balances.get(inst.quote, 0.0)
                - self.reserved(inst.quote)
                + self._own_reservation(order, inst.quote)
            )
        elif not inst.shortable:
            need = order.qty
            free = (
                self.balances.get(inst.base, 0.0) - self.reserved(inst.base) + self._own_reservation(order, inst.base)
            )
        else:
            return
        if need > free + 1e-9:
            del self.orders[order.seq]
            raise Rejection("insufficient_funds", f"insufficient balance: need {need:.8f}, have {free:.8f}")

    def _own_reservation(self, order: FakeOrder, asset: str) -> float:
        inst = self.instruments[order.symbol]
        if order.side == "sell" and inst.base == asset:
            return order.remaining
        if order.side == "buy" and inst.quote == asset and order.type != "market":
            return order.remaining * float(order.limit_price or order.stop_price)
        return 0.0

    def _linked(self, order: FakeOrder) -> list[FakeOrder]:
        root = self.orders[order.parent] if order.parent else order
        linked = [root] + [self.orders[s] for s in root.legs]
        if order.oco_group is not None:
            linked += [o for o in self.orders.values() if o.oco_group == order.oco_group]
        if order.parent:  # cancelling a leg cancels its siblings, not the filled parent
            linked = [o for o in linked if o.seq != root.seq]
        return list({o.seq: o for o in linked}.values())

    def _finish_cancels(self) -> None:
        for o in self.orders.values():
            if o.cancel_bars is None:
                continue
            if not o.is_open:
                o.cancel_bars = None
                continue
            o.cancel_bars -= 1
            if o.cancel_bars <= 0:
                o.cancel_bars = None
                o.status, o.canceled_at, o.updated = "canceled", self.clock, self.clock

    def _on_bar(self, symbol: str, start: pd.Timestamp, bar: pd.Series) -> None:
        todo = [
            o
            for o in self.orders.values()
            if o.symbol == symbol
            and o.status in ("new", "partially_filled")
            and o.eligible_from is not None
            and start >= o.eligible_from
        ]
        todo.sort(key=lambda o: (o.type != "stop", o.seq))  # stops first: pessimistic OCO
        for order in todo:
            if not order.is_open:  # cancelled by an OCO sibling in this bar
                continue
            price = fill_price(order, bar)
            if price is None:
                continue
            order.triggered = True
            qty = order.remaining
            if order.parts > 1:
                qty = round_down(order.qty / order.parts, self.instruments[symbol].step) or qty
                order.parts -= 1
            if order.split:
                self._execute_split(order, qty, price, start, bar)
            else:
                self._execute(order, qty, price, start)

    def _execute_split(self, order: FakeOrder, qty: float, price: float, when: pd.Timestamp, bar: pd.Series) -> None:
        first = round_down(qty / 2, self.instruments[order.symbol].step)
        if first <= 0 or first >= qty:
            self._execute(order, qty, price, when)
            return
        worse = order.type != "limit"
        up = (order.side == "buy") == worse
        second = price * (1 + SPLIT_SPREAD) if up else price * (1 - SPLIT_SPREAD)
        second = min(max(second, float(bar["low"])), float(bar["high"]))
        self._execute(order, first, price, when)
        if order.is_open:
            self._execute(order, qty - first, second, when)

    def _execute(self, order: FakeOrder, qty: float, price: float, when: pd.Timestamp) -> None:
        inst = self.instruments[order.symbol]
        if not self._can_settle(order, inst, qty, price):
            order.status, order.updated = "expired", self.clock
            return
        commission, fee_asset = self._settle(inst, order.side, qty, price)
        order.filled_qty += qty
        order.filled_notional += qty * price
        order.commission += commission
        order.updated = self.clock
        order.status = "filled" if order.remaining <= 1e-12 else "partially_filled"
        if order.status == "filled":
            order.filled_at = when
        self.fills.append(
            FakeFill(
                next(self._fill_seq),
                order.seq,
                order.symbol,
                order.side,
                qty,
                price,
                commission,
                fee_asset,
                when,
            )
        )
        if order.oco_group is not None:
            for o in self.orders.values():
                if o.oco_group == order.oco_group and o.seq != order.seq and o.is_open:
                    o.status, o.updated = self.oco_sibling_status, self.clock
                    if o.status == "canceled":
                        o.canceled_at = self.clock
        if order.status == "filled":
            order.cancel_bars = None  # filled before a pending cancel took effect: it failed
        if order.status == "filled" and order.legs:
            for seq in order.legs:
                leg = self.orders[seq]
                if leg.status == "held":
                    leg.status, leg.qty = "new", order.filled_qty
                    leg.eligible_from = when + pd.Timedelta(1, "ns")
                    leg.cancel_bars = None

    def _can_settle(self, order: FakeOrder, inst: Instrument, qty: float, price: float) -> bool:
        if order.side == "buy":
            fee = 0.0 if inst.fee_in_received else inst.fee_rate
            return self.balances.get(inst.quote, 0.0) + 1e-9 >= qty * price * (1 + fee)
        return inst.shortable or self.balances.get(inst.base, 0.0) + 1e-9 >= qty

    def _settle(self, inst: Instrument, side: str, qty: float, price: float) -> tuple[float, str]:
        notional = qty * price
        sign = 1.0 if side == "buy" else -1.0
        self._update_cost(inst, sign * qty, price)
        third = self._third_asset_fee(inst, notional)
        if third is not None:
            self._add(inst.fee_asset, -third)
            self._add(inst.base, sign * qty)
            self._add(inst.quote, -sign * notional)
            return third, inst.fee_asset
        if inst.fee_in_received and side == "buy":
            fee = qty * inst.fee_rate
            self._add(inst.base, qty - fee)
            self._add(inst.quote, -notional)
            return fee, inst.base
        fee = notional * inst.fee_rate
        self._add(inst.base, sign * qty)
        self._add(inst.quote, -sign * notional - fee)
        return fee, inst.quote

    def _third_asset_fee(self, inst: Instrument, notional: float) -> float | None:
        """Return the fee in ``inst.fee_asset`` if its balance covers it, else None."""
        rate_symbol = f"{inst.fee_asset}{inst.quote}"
        if not inst.fee_asset or rate_symbol not in self.instruments or inst.fee_rate <= 0:
            return None
        fee = notional * inst.fee_rate / self.last_price(rate_symbol)
        return fee if self.balances.get(inst.fee_asset, 0.0) + 1e-12 >= fee else None

    def _update_cost(self, inst: Instrument, signed_qty: float, price: float) -> None:
        pos = self.balances.get(inst.base, 0.0)
        cost = self.cost.get(inst.symbol, 0.0)
        if pos == 0 or (pos > 0) == (signed_qty > 0):
            cost += signed_qty * price
        else:
            closed = min(abs(signed_qty), abs(pos))
            cost *= 1 - closed / abs(pos)
            if abs(signed_qty) > abs(pos):
                cost = (signed_qty + pos) * price
        self.cost[inst.symbol] = cost

    def _add(self, asset: str, amount: float) -> None:
        value = self.balances.get(asset, 0.0) + amount
        self.balances[asset] = 0.0 if abs(value) < 1e-12 else value
