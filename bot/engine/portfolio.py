"""Run a PortfolioStrategy inside Backtrader: one cash account, every symbol rebalanced at once.

Every ``rebalance_every`` steps of the union calendar, counted from step ``warmup_bars() - 1``
(step 0 is the first bar loaded), the adapter asks the strategy for target weights on the closed
bar and sends the trades :mod:`bot.rebalance` plans as market orders (reason ``rebalance``) that
Backtrader fills at each symbol's next open, with slippage and commission. Only symbols with a bar
at the step are tradable; a symbol whose data ended keeps its last position until the end marks.
A live session (bot/live/session.py) runs this adapter on the live broker, counting steps on from
its warm-up history (a restart starts the count again from its own warm-up).
Shorts use Backtrader's stock-like ``shortcash`` accounting: a short sale adds its proceeds to cash
and the position is valued negative at each close, so equity = cash + sum(shares x close).
"""

from __future__ import annotations

from collections.abc import Mapping

import backtrader as bt
import pandas as pd

from bot.engine.adapter import (
    _STATUS,
    _TYPES,
    EngineContext,
    _slippage,
    charge_borrow,
    gross_exposure,
    mark_open_positions,
)
from bot.ledger import OrderRecord
from bot.order_ids import client_order_id
from bot.rebalance import fit_buys, plan_trades, rebalance_due
from bot.risk.killswitch import KillSwitch
from strategies.base import PortfolioStrategy, PortfolioView


class PortfolioAdapter(bt.Strategy):
    params = (("ctx", None), ("step0", 0))  # step0: calendar bars before the first fed bar (live: the warm-up)

    def __init__(self):
        self.ctx: EngineContext = self.p.ctx
        self.core: PortfolioStrategy = self.ctx.strategy
        self.cols = self.core.signal_columns
        self._step = self.p.step0 - 1
        self._working: dict[int, bt.Order] = {}
        self._ids: dict[int, str] = {}
        self._flattened = False
        self._kill = self.ctx.kill_switch or KillSwitch(self.ctx.config.risk, self.ctx.config.broker.cash)

    def prenext(self):
        self.next()

    def next(self):
        self._step += 1
        now = max(self.ctx.index[d._name][len(d) - 1] for d in self.datas if len(d))
        if self.ctx.borrow_per_bar:
            charge_borrow(self, self._tradable(now))
        equity = self.broker.getvalue()
        halted = self._kill.update(now, equity)
        if halted and self._kill.flatten and not self._flattened:
            self._flattened = True
            self._rebalance(now, equity, {}, "halt")
        elif not halted and rebalance_due(self._step, self.core.warmup_bars() - 1, self.core.rebalance_every):
            self._flattened = False
            self._rebalance(now, equity, None, "rebalance")
        self.ctx.ledger.mark_equity(now, self.broker.getvalue(), self.broker.getcash(), gross_exposure(self))
        if self.ctx.progress is not None:
            self.ctx.progress(now)

    def _tradable(self, now: pd.Timestamp) -> list:
        return [d for d in self.datas if len(d) and self.ctx.index[d._name][len(d) - 1] == now]

    def view(self, now: pd.Timestamp, equity: float) -> PortfolioView:
        """Return what the strategy sees at ``now``: the symbols with a bar at ``now``."""
        datas = self._tradable(now)
        return PortfolioView(
            timestamp=now,
            close={d._name: d.close[0] for d in datas},
            signals={d._name: {c: getattr(d.lines, c)[0] for c in self.cols} for d in datas},
            position={d._name: self.getposition(d).size for d in datas},
            equity=equity,
        )

    def _rebalance(self, now: pd.Timestamp, equity: float, weights: Mapping[str, float] | None, reason: str) -> None:
        for o in list(self._working.values()):  # a market order still open (its feed ended) is dropped
            self.cancel(o)
        view = self.view(now, equity)
        if weights is None:
            weights = self.core.targets(view)
        b = self.ctx.config.broker
        min_trade = self.core.min_trade if reason == "rebalance" else 0.0
        trades = plan_trades(weights, view.position, view.close, equity, self.ctx.fractional, min_trade)
        trades = fit_buys(trades, self.broker.getcash(), b.commission, b.slippage, self.ctx.fractional)
        by_name = {d._name: d for d in self.datas}
        for t in trades:
            self._send(by_name[t.symbol], now, t.delta, reason, t.kind if reason == "rebalance" else reason)

    def _send(self, d, now: pd.Timestamp, delta: float, reason: str, kind: str) -> None:
        size = abs(delta)
        o = (self.buy if delta > 0 else self.sell)(data=d, size=size, exectype=bt.Order.Market)
        oid = client_order_id(self.ctx.config.name, d._name, now, kind)
        o.addinfo(oid=oid, reason=reason)
        self._ids[o.ref] = oid
        self._working[o.ref] = o
        self.ctx.ledger.order_submitted(
            OrderRecord(
                order_id=oid,
                created=now,
                symbol=d._name,
                side="buy" if delta > 0 else "sell",
                size=float(size),
                type=_TYPES.get(o.exectype, "market"),
                reason=reason,
            )
        )

    def notify_order(self, order):
        oid = self._ids.get(order.ref)
        if oid is None:
            return
        if order.status == bt.Order.Completed:
            d = order.data
            ex = order.executed
            when = self.ctx.index[d._name][len(d) - 1]
            self.ctx.ledger.order_filled(oid, when, ex.price, abs(ex.size), ex.comm, _slippage(order, d))
        elif order.status in _STATUS:
            self.ctx.ledger.order_status(oid, _STATUS[order.status])
        if not order.alive():
            self._working.pop(order.ref, None)

    def stop(self):
        mark_open_positions(self)
