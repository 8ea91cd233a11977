"""Run a plain-Python Strategy inside Backtrader: read signal lines, turn intents into real orders.

Orders decided on bar t's close are market orders that Backtrader fills at bar t+1's open.
Protective exits (stop-loss or trailing stop, take-profit) are bracket children of the entry,
so the broker simulates them bar by bar; they are never applied after the fact. Their prices are
rounded to the venue's tick (``broker.price_increment``, :mod:`bot.venues.increments`), as live.

Shorts mirror longs: ``Enter(side="short")`` sells (``sell_bracket`` with a buy stop above and a
buy limit below the decision close), ``Exit`` buys back the whole short. A short sale's proceeds
are not spendable: every entry, long or short, is budgeted against the cash not backing shorts.
An ``Enter`` while holding the other side is ignored (``Exit`` first). With
``EngineContext.borrow_per_bar`` (backtests: ``broker.short_fee`` / bars per year) every bar whose
close finds a short open deducts ``|size| x close x borrow_per_bar`` from cash.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import backtrader as bt
import pandas as pd

from bot.config import Config
from bot.ledger import Ledger, OrderRecord
from bot.order_ids import client_order_id
from bot.risk.killswitch import KillSwitch
from bot.venues.increments import backtest_price
from strategies.base import BarView, Enter, Exit, PortfolioStrategy, Strategy

_STATUS = {
    bt.Order.Submitted: "submitted",
    bt.Order.Accepted: "accepted",
    bt.Order.Partial: "partially_filled",
    bt.Order.Completed: "filled",
    bt.Order.Canceled: "canceled",
    bt.Order.Expired: "expired",
    bt.Order.Margin: "rejected_margin",
    bt.Order.Rejected: "rejected",
}
_TYPES = {
    bt.Order.Market: "market",
    bt.Order.Stop: "stop",
    bt.Order.Limit: "limit",
    bt.Order.StopTrail: "trailing_stop",
}


@dataclass
class EngineContext:
    """Everything the adapter needs besides Backtrader: the strategy, config, bar timestamps and ledger."""

    strategy: Strategy | PortfolioStrategy  # PortfolioAdapter runs the latter
    config: Config
    index: Mapping[str, Sequence[pd.Timestamp]]  # per symbol, the timestamp of bar i (live feeds append)
    ledger: Ledger
    fractional: bool
    progress: Callable[[pd.Timestamp], None] | None = None  # called once per bar step
    kill_switch: KillSwitch | None = None  # default: from config.risk, starting at broker.cash
    borrow_per_bar: float = 0.0  # short borrow fee per bar, a fraction of the short's value at the close


class StrategyAdapter(bt.Strategy):
    params = (("ctx", None),)

    def __init__(self):
        self.ctx: EngineContext = self.p.ctx
        self.core = self.ctx.strategy
        self.cols = self.core.signal_columns
        self._seen = [0] * len(self.datas)
        self._working: dict[str, bt.Order] = {}
        self._children: dict[str, list[bt.Order]] = {}
        self._ids: dict[int, str] = {}
        self._kill = self.ctx.kill_switch or KillSwitch(self.ctx.config.risk, self.ctx.config.broker.cash)
        # Per feed, looked up once: its close line and its (signal column, line) pairs.
        self._close = [d.lines.close for d in self.datas]
        self._signal_lines = [[(c, getattr(d.lines, c)) for c in self.cols] for d in self.datas]

    # Every calendar step gets exactly one call, whether or not every feed has started.
    def prenext(self):
        self.next()

    def next(self):
        ctx, datas = self.ctx, self.datas
        lens = [len(d) for d in datas]  # bars per feed; a feed whose count grew has a new bar
        # Backtrader steps to the earliest next bar of all feeds, so "now" is the latest current bar.
        now = max(ctx.index[d._name][n - 1] for d, n in zip(datas, lens, strict=True) if n)
        if ctx.borrow_per_bar:
            fresh = zip(datas, lens, self._seen, strict=True)
            charge_borrow(self, [d for d, n, seen in fresh if n != seen])
        equity = self.broker.getvalue()
        halted = self._kill.update(now, equity)
        seen = self._seen
        for i, n in enumerate(lens):
            if n != seen[i]:
                seen[i] = n
                self._decide(i, n, equity, halted)
        value, cash = self.broker.getvalue(), self.broker.getcash()
        ctx.ledger.mark_equity(now, value, cash, self._exposure(lens))
        if ctx.progress is not None:
            ctx.progress(now)

    def _decide(self, i: int, n: int, equity: float, halted: bool) -> None:
        d = self.datas[i]
        sym = d._name
        view = BarView(
            symbol=sym,
            timestamp=self.ctx.index[sym][n - 1],
            close=self._close[i][0],
            signals={c: line[0] for c, line in self._signal_lines[i]},
            position=self.broker.getposition(d).size,
            pending=sym in self._working,
        )
        intent = self.core.decide(view)
        if isinstance(intent, Enter) and not halted:
            self._enter(d, view, intent, equity)
        elif isinstance(intent, Exit):
            self._exit(d, view, intent.reason)
        elif halted and self._kill.flatten and view.position != 0 and not view.pending:
            self._exit(d, view, "halt")

    def _free_cash(self) -> float:
        """Return the cash not backing shorts (a short sale's proceeds are collateral, not spendable)."""
        shorts = sum(
            -self.getposition(d).size * d.close[0] for d in self.datas if len(d) and self.getposition(d).size < 0
        )
        return self.broker.getcash() - shorts

    def _exposure(self, lens: Sequence[int]) -> float:
        """``gross_exposure`` with the step's bar counts and close lines at hand (same sum)."""
        value = self.broker.getvalue()
        pos = self.broker.getposition
        rows = zip(self.datas, lens, self._close, strict=True)
        gross = sum(abs(pos(d).size) * close[0] for d, n, close in rows if n)
        return gross / value if value > 0 else 0.0

    # ----------------------------------------------------------------- orders
    def _enter(self, d, view: BarView, intent: Enter, equity: float) -> None:
        short = intent.side == "short"
        if (view.position > 0 and short) or (view.position < 0 and not short):
            return  # holding the other side: the strategy must Exit first
        b, r = self.ctx.config.broker, self.ctx.config.risk
        budget = min(intent.fraction * equity, self._free_cash() / (1 + b.commission + b.slippage + 0.02))
        size = budget / view.close
        size = size if self.ctx.fractional else math.floor(size)
        if size <= 0:
            return
        oid = client_order_id(self.ctx.config.name, view.symbol, view.timestamp, "entry")
        prob = intent.prob if not short or intent.prob is None else 1.0 - intent.prob  # entry_prob is P(up)
        stop_kind = "trailing_stop" if r.trailing_stop else ("stop_loss" if r.stop_loss else None)
        take_profit = r.take_profit if not (short and r.take_profit and r.take_profit >= 1) else None
        if stop_kind is None and take_profit is None:
            o = (self.sell if short else self.buy)(data=d, size=size, exectype=bt.Order.Market)
            self._track(o, oid, view, "entry", size, prob=prob)
            self._working[view.symbol] = o
            return
        main = self._bracket(d, view, size, short, stop_kind, take_profit)
        self._track(main[0], oid, view, "entry", size, prob=prob)
        self._working[view.symbol] = main[0]
        kids = []
        for child, kind in ((main[1], stop_kind), (main[2], "take_profit")):
            if child is not None:
                assert kind is not None  # a stop child exists only with a stop kind
                self._track(
                    child, client_order_id(self.ctx.config.name, view.symbol, view.timestamp, kind), view, kind, size
                )
                kids.append(child)
        self._children[view.symbol] = kids

    def _bracket(
        self, d, view: BarView, size: float, short: bool, stop_kind: str | None, take_profit: float | None
    ) -> list:
        """Submit a market entry with its protective children: [entry, stop or None, take-profit or None]."""
        r = self.ctx.config.risk
        stopargs = dict(trailpercent=r.trailing_stop) if stop_kind == "trailing_stop" else {}
        stopprice, limitprice = _bracket_prices(
            view, self.ctx.config.broker.price_increment, stop_kind, r.stop_loss, take_profit, short
        )
        return (self.sell_bracket if short else self.buy_bracket)(
            data=d,
            size=size,
            exectype=bt.Order.Market,
            stopprice=stopprice,
            stopexec=(bt.Order.StopTrail if stop_kind == "trailing_stop" else bt.Order.Stop) if stop_kind else None,
            stopargs=stopargs,
            limitprice=limitprice,
            limitexec=bt.Order.Limit if take_profit else None,
        )

    def _exit(self, d, view: BarView, reason: str) -> None:
        for child in self._children.pop(view.symbol, []):
            if child.alive():
                self.cancel(child)
        size = self.getposition(d).size
        if size == 0:
            return
        o = (self.sell if size > 0 else self.buy)(data=d, size=abs(size), exectype=bt.Order.Market)
        self._track(
            o, client_order_id(self.ctx.config.name, view.symbol, view.timestamp, "exit"), view, reason, abs(size)
        )
        self._working[view.symbol] = o

    def _track(self, order, oid: str, view: BarView, reason: str, size: float, prob: float | None = None) -> None:
        order.addinfo(oid=oid, reason=reason, prob=prob)
        self._ids[order.ref] = oid
        self.ctx.ledger.order_submitted(
            OrderRecord(
                order_id=oid,
                created=view.timestamp,
                symbol=view.symbol,
                side="buy" if order.isbuy() else "sell",
                size=float(size),
                type=_TYPES.get(order.exectype, "market"),
                reason=reason,
            )
        )

    def notify_order(self, order):
        oid = self._ids.get(order.ref)
        if oid is None:
            return
        sym = order.data._name
        if order.status == bt.Order.Completed:
            d = order.data
            when = self.ctx.index[sym][len(d) - 1]
            ex = order.executed
            self.ctx.ledger.order_filled(
                oid, when, ex.price, abs(ex.size), ex.comm, _slippage(order, d), prob=order.info.get("prob")
            )
        elif order.status in _STATUS:
            self.ctx.ledger.order_status(oid, _STATUS[order.status])
        working = self._working.get(sym)
        if not order.alive() and working is not None and working.ref == order.ref:
            del self._working[sym]
        if order.status == bt.Order.Completed and order.info.get("reason") != "entry":
            self._children.pop(sym, None)  # an exit leg filled: the bracket is done

    def stop(self):
        mark_open_positions(self)


def _bracket_prices(
    view: BarView, increment, stop_kind: str | None, stop_loss: float | None, take_profit: float | None, short: bool
) -> tuple[float | None, float | None]:
    """Return the (stop, take-profit) prices on the tick grid: below / above the close for a long,
    mirrored (above / below) for a short; None for a leg not used (a trailing stop has no price)."""
    tick = lambda p: backtest_price(view.symbol, p, increment)  # noqa: E731 - the venue's grid
    stop = limit = None
    if stop_kind == "stop_loss" and stop_loss is not None:  # stop_kind is "stop_loss" only then
        stop = tick(view.close * (1 + stop_loss)) if short else tick(view.close * (1 - stop_loss))
    if take_profit:
        limit = tick(view.close * (1 - take_profit)) if short else tick(view.close * (1 + take_profit))
    return stop, limit


def gross_exposure(strat: bt.Strategy) -> float:
    """Return sum |position| x close / account value (0 when the value is not positive)."""
    value = strat.broker.getvalue()
    gross = sum(abs(strat.getposition(d).size) * d.close[0] for d in strat.datas if len(d))
    return gross / value if value > 0 else 0.0


def mark_open_positions(strat: bt.Strategy) -> None:
    """At the end of the run, close open trades (long or short) at their last close paying the closing
    commission (``exit_reason: end``), and take that commission off the last equity mark."""
    ledger, comm = strat.ctx.ledger, strat.ctx.config.broker.commission
    total = 0.0
    for d in strat.datas:
        pos = strat.getposition(d).size
        if pos != 0 and d._name in ledger.open_trades:
            c = abs(pos) * d.close[0] * comm
            total += c
            ledger.mark_to_close(d._name, strat.ctx.index[d._name][len(d) - 1], d.close[0], c)
    if total and ledger.equity:
        t, eq, cash, expo = ledger.equity[-1]
        ledger.equity[-1] = (t, eq - total, cash, expo)


def charge_borrow(strat: bt.Strategy, datas: Sequence) -> None:
    """Deduct from cash the borrow fee of each short in ``datas`` (feeds with a new bar) at its close."""
    rate, charged = strat.ctx.borrow_per_bar, False
    for d in datas:
        pos = strat.getposition(d).size
        if pos < 0:
            fee = -pos * d.close[0] * rate
            strat.broker.add_cash(-fee)
            strat.ctx.ledger.charge_borrow(d._name, fee)
            charged = True
    if charged:  # getvalue() is the value cached at the broker's step: revalue the account now, fees applied
        strat.broker.get_value(datas=[])  # (datas=[] values every position and refreshes that cache)


def _slippage(order, d) -> float:
    """Return the cash cost of slippage on this fill: |fill price - price before slippage| x size."""
    ex = order.executed
    raw = d.open[0]
    if order.exectype in (bt.Order.Stop, bt.Order.StopTrail):
        raw = min(order.created.price, d.open[0]) if order.issell() else max(order.created.price, d.open[0])
    elif order.exectype == bt.Order.Limit:
        raw = max(order.created.price, d.open[0]) if order.issell() else min(order.created.price, d.open[0])
    return abs(ex.price - raw) * abs(ex.size)
