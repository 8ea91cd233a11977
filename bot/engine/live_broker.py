"""A Backtrader broker over a venue: the StrategyAdapter's orders become journaled venue orders.

``buy``/``sell`` create ordinary Backtrader orders. They are sent after the strategy step that
created them (:class:`StepEnd`, an analyzer, calls :meth:`LiveBroker.after_step`), because the
adapter attaches the deterministic client order id (``order.info['oid']``) right after
creating them. A bracket from ``buy_bracket`` (parent with ``transmit=False`` plus stop / limit
children) becomes one venue bracket request. Each order goes through
the router the live layer passes in (:class:`bot.orders.OrderRouting`, implemented by
:class:`bot.live.router.OrderRouter`): journaled first, then submitted idempotently.

Every Backtrader iteration :meth:`LiveBroker.next` lets the bar poller wait for the next bar,
polls the venue for fills and final statuses (turned into notifications with commission), and
reads cash, equity and positions from the venue: sizes are the venue's, not the ordered ones.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence

import backtrader as bt
import pandas as pd
from loguru import logger

from bot.errors import FatalVenueError, TransientVenueError, VenueError
from bot.orders import BarSource, OrderEvent, OrderKind, OrderRequest, OrderRouting

_KIND: dict[int, OrderKind] = {bt.Order.Market: "market", bt.Order.Limit: "limit", bt.Order.Stop: "stop"}


class LiveBroker(bt.BrokerBase):
    """Backtrader broker backed by a venue client, a journal and a bar poller."""

    def __init__(
        self,
        router: OrderRouting,
        poller: BarSource,
        index: Mapping[str, Sequence[pd.Timestamp]],
        commission_rate: float,
        model_version: str | None = None,
        on_step: Callable[[pd.Timestamp], None] | None = None,
        dust_value: float = 0.0,
    ):
        super().__init__()
        self.setcommission(commission=commission_rate)
        self.router, self.poller, self.index = router, poller, index
        self.model_version, self.on_step, self.dust_value = model_version, on_step, dust_value
        self.notifs: deque = deque()
        self._outbox: list[tuple[str, list]] = []
        self._group: list = []
        self._live: dict[str, bt.Order] = {}
        self._exits: dict[str, dict[str, bt.Order]] = {}
        self._positions: dict[str, bt.Position] = defaultdict(bt.Position)
        self._cash = self._value = 0.0
        self._synced = False

    # ---- Backtrader broker interface -------------------------------------------------------
    def start(self) -> None:
        super().start()
        self._refresh()
        self.startingcash = self._cash  # read by Backtrader's writers at the end

    def getcash(self) -> float:
        return self._cash

    def getvalue(self, datas=None) -> float:
        if datas is None:
            return self._value
        return sum(self._positions[d._name].size * d.close[0] for d in datas if len(d))

    get_cash, get_value = getcash, getvalue

    def add_cash(self, cash: float) -> None:
        """Change nothing: cash is the venue's (a paper venue takes a short's borrow fee itself;
        the adapter only books it to the trade)."""

    def getposition(self, data) -> bt.Position:
        return self._positions[data._name]

    def get_notification(self):
        return self.notifs.popleft() if self.notifs else None

    def notify(self, order) -> None:
        self.notifs.append(order.clone())

    def buy(
        self,
        owner,
        data,
        size,
        price=None,
        plimit=None,
        exectype=None,
        valid=None,
        tradeid=0,
        oco=None,
        trailamount=None,
        trailpercent=None,
        parent=None,
        transmit=True,
        **kwargs,
    ):
        order = bt.order.BuyOrder(
            owner=owner,
            data=data,
            size=size,
            price=price,
            pricelimit=plimit,
            exectype=exectype,
            valid=valid,
            tradeid=tradeid,
            trailamount=trailamount,
            trailpercent=trailpercent,
            parent=parent,
            transmit=transmit,
        )
        return self._take(order, kwargs)

    def sell(
        self,
        owner,
        data,
        size,
        price=None,
        plimit=None,
        exectype=None,
        valid=None,
        tradeid=0,
        oco=None,
        trailamount=None,
        trailpercent=None,
        parent=None,
        transmit=True,
        **kwargs,
    ):
        order = bt.order.SellOrder(
            owner=owner,
            data=data,
            size=size,
            price=price,
            pricelimit=plimit,
            exectype=exectype,
            valid=valid,
            tradeid=tradeid,
            trailamount=trailamount,
            trailpercent=trailpercent,
            parent=parent,
            transmit=transmit,
        )
        return self._take(order, kwargs)

    def cancel(self, order, bracket: bool = False) -> bool:
        if not order.alive():
            return False
        self._outbox.append(("cancel", [order]))
        return True

    def next(self) -> None:
        """Wait for the next bar and bring the venue's state up to date.

        The venue is synced (queued orders sent, fills and statuses applied, cash and positions
        read) when the poller wakes up and *before* it fetches the new bars: a paper venue fills
        on the new bars in that sync, and the time from a bar becoming known to its orders
        (``mp_bar_to_order_latency_seconds``) is spent on the bar only. Iterations that do not
        wait sync as well.
        """
        self._synced = False
        self._guarded(lambda: self.poller.heartbeat(before_poll=self.sync_venue), "heartbeat")
        if not self._synced:
            self.sync_venue()

    def sync_venue(self) -> None:
        """Send queued orders, apply the venue's fills and statuses, read cash and positions."""
        for step in (self.flush, self._poll_events, self._refresh):
            self._guarded(step, step.__name__)
        self._synced = True

    def _guarded(self, step: Callable[[], object], name: str) -> None:
        try:
            step()
        except TransientVenueError as err:  # retries exhausted: try again at the next poll
            logger.warning("venue unavailable ({}); trying again at the next poll", err)
        except FatalVenueError:
            raise
        except VenueError as err:  # one order's trouble must not stop the session
            logger.error("{} failed ({}); going on at the next poll", name, err)

    def _poll_events(self) -> None:
        for event in self.router.poll(self._current_bar()):
            self._apply(event)

    # ---- sending ----------------------------------------------------------------------
    def _take(self, order, kwargs: dict):
        order.addinfo(**kwargs)
        order.addcomminfo(self.getcommissioninfo(order.data))
        order.submit(self)
        self.notify(order)
        if order.parent is None and not order.transmit:
            self._group = [order]
        elif order.parent is not None:
            self._group.append(order)
            if order.transmit:
                self._outbox.append(("send", self._group))
                self._group = []
        else:
            self._outbox.append(("send", [order]))
        return order

    def after_step(self) -> None:
        """Send what the strategy step created, check every position has its exits, then report
        the finished step."""
        self.flush()
        self._guard()
        now = self._current_bar()
        if self.on_step is not None and now is not None:
            self.on_step(now)

    def flush(self) -> None:
        """Send queued orders and cancels, in the order the strategy made them.

        The step's buys are journaled (``pending``) together before the first is sent, and what
        the venue answers is journaled together after the last (OrderRouter.batch): the write-
        ahead rule holds, and a step's orders cost two journal writes instead of two each.
        """
        todo, self._outbox = self._outbox, []
        if not todo:
            return
        with self.router.batch():
            self.router.journal_ahead(
                [self._ticket(orders) for action, orders in todo if action == "send" and _intent(orders[0]) == "entry"]
            )
            self._flush(todo)

    def _flush(self, todo: list) -> None:
        for action, orders in todo:
            try:
                self._cancel(orders[0]) if action == "cancel" else self._send(orders)
            except TransientVenueError as err:
                logger.warning(
                    "{} of {} not done, venue unavailable: {}", action, orders[0].info.get("oid") or orders[0].ref, err
                )
                self._unsent(action, orders)
            except FatalVenueError:
                raise
            except VenueError as err:
                logger.error("{} of {} failed: {}", action, orders[0].info.get("oid") or orders[0].ref, err)
                self._unsent(action, orders)

    def _unsent(self, action: str, orders: list) -> None:
        """An order whose send failed: if the journal has it, its outcome is resolved by the
        router's polls (track it); if not, it never left: cancel it, so that the strategy (which
        waits while an order is working) decides again on the next bar."""
        main = orders[0]
        if action != "send" or not main.alive():
            return
        cid = main.info.get("oid")
        if cid and self.router.journal.get_order(cid) is not None:
            for o in orders:
                if o.status in (bt.Order.Created, bt.Order.Submitted):
                    o.accept(self)
                    self.notify(o)
            self._live[cid] = main
            kids = {_exit_kind(k): k for k in orders[1:]}
            if kids:
                self._exits[cid] = kids
            return
        for o in orders:
            self._finish(o, "canceled")

    def _guard(self) -> None:
        """Give a position held without working exits a stop (OrderRouter.guard_exits)."""
        busy = {
            orders[0].data._name for action, orders in self._outbox if action == "send" and _intent(orders[0]) == "exit"
        }
        held = {s: p.size for s, p in self._positions.items() if p.size != 0}
        try:
            self.router.guard_exits(held, busy, dust=lambda sym, qty: self._tradable(sym, qty) == 0)
        except TransientVenueError as err:
            logger.warning("exits not checked, venue unavailable: {}", err)
        except FatalVenueError:
            raise
        except VenueError as err:
            logger.error("exits not checked: {}", err)

    def _ticket(self, group: list) -> OrderRequest:
        """Return the venue ticket of a Backtrader order group (an order, or a bracket's parent + exits)."""
        main, kids = group[0], group[1:]
        sym = main.data._name
        cid = main.info.get("oid")
        if not cid:
            raise RuntimeError(f"order {main.ref} on {sym} has no client order id (info['oid'])")
        exits = {_exit_kind(k): k for k in kids}
        stop = exits.get("stop_loss") or exits.get("trailing_stop")
        limit = exits.get("take_profit")
        return OrderRequest(
            cid,
            sym,
            "buy" if main.isbuy() else "sell",
            abs(main.size),
            intent=_intent(main),
            type=_KIND.get(main.exectype, "market"),
            limit_price=main.created.price if main.exectype == bt.Order.Limit else None,
            stop_price=main.created.price if main.exectype == bt.Order.Stop else None,
            take_profit=limit.created.price if limit is not None else None,
            stop_loss=stop.created.price if stop is not None else None,
            trail_percent=(stop.created.trailpercent if stop is not None and "trailing_stop" in exits else None),
            bar_time=self._bar_time(main.data),
            model_version=self.model_version,
        )

    def _send(self, group: list) -> None:
        main, kids = group[0], group[1:]
        sym, cid = main.data._name, main.info.get("oid")
        ticket = self._ticket(group)
        exits = {_exit_kind(k): k for k in kids}
        if _intent(main) == "exit" and not self._exits_released(sym, cid, group):
            return  # the venue is still cancelling the exits that hold the shares: send at the next poll
        state = self.router.send(ticket)
        row = self.router.journal.get_order(cid) if state is None else None
        if state is None and row is not None and row.status == "rejected":  # (a refused exit's stop goes back:
            for o in group:  # OrderRouter._restore_exits)
                o.reject(self)
                self.notify(o)
            return
        for o in group:
            o.accept(self)
            self.notify(o)
        self._live[cid] = main
        if exits:
            self._exits[cid] = exits

    def _exits_released(self, sym: str, cid: str, group: list) -> bool:
        """Cancel the resting exits holding ``sym`` and wait until the venue says they are gone.

        Venues cancel asynchronously (Alpaca: ``pending_cancel``, the shares stay held); a sell
        sent before the cancel is final is refused. If it is not final yet, the sell is queued
        for the next flush (its decision stands) and False returned.
        """
        side = "buy" if group[0].isbuy() else "sell"  # the exits of a short are buys
        ids = self.router.cancel_exits(sym, side)  # also ones left by an earlier run
        if not ids or self.router.exits_cleared(sym, ids):
            return True
        logger.info("{}: exits {} not cancelled yet; the sell {} waits for the next poll", sym, ", ".join(ids), cid)
        self._outbox.append(("send", group))
        return False

    def _cancel(self, order) -> None:
        if not order.alive():
            return
        sym = order.data._name
        if order.parent is not None:  # a bracket exit: the venue's exits on the symbol go together
            self.router.cancel_exits(sym, "buy" if order.isbuy() else "sell")
            for kid in self._exits.pop(order.parent.info.get("oid"), {}).values():
                self._finish(kid, "canceled")
            return
        cid = order.info.get("oid")
        state = self.router.cancel(cid, sym)
        if state is None or state.status == "canceled":
            self._finish(order, "canceled")

    # ---- venue events -------------------------------------------------------------------
    def _apply(self, e: OrderEvent) -> None:
        if e.leg is not None:
            kids = self._exits.get(e.client_order_id, {})
            child = kids.get(e.leg) or (
                kids.get("stop_loss") or kids.get("trailing_stop") if e.leg != "take_profit" else None
            )
            if child is None or not child.alive():
                return  # exits of an entry made by an earlier run
            self._fill(child, e)
            if e.status != "filled":
                return  # a leg filled in part: the rest stays protected (router), the siblings live on
            for other in kids.values():
                if other is not child:
                    self._finish(other, "canceled")
            self._exits.pop(e.client_order_id, None)
            return
        order = self._live.get(e.client_order_id)
        if order is None or not order.alive():
            return
        if e.qty > 0:
            self._fill(order, e)
        elif e.status == "filled":  # the venue filled a size it had rounded: nothing more will come
            if order.executed.size:
                order.completed()
                self.notify(order)
            self._live.pop(e.client_order_id, None)
        else:
            self._finish(order, e.status)

    def _fill(self, order, e: OrderEvent) -> None:
        remaining = abs(order.executed.remsize)
        qty = min(e.qty, remaining)  # each venue trade at its own price and commission
        if qty <= 0:
            return
        size = qty if order.isbuy() else -qty
        pos = self._positions[order.data._name]
        before = pos.price
        psize, pprice, opened, closed = pos.update(size, e.price)
        ci = order.comminfo or self.getcommissioninfo(order.data)
        share = abs(closed) / qty
        closedcomm, openedcomm = e.commission * share, e.commission * (1 - share)
        pnl = ci.profitandloss(-closed, before, e.price)
        dt = order.data.datetime[0] if len(order.data) else 0.0
        order.execute(
            dt,
            size,
            e.price,
            closed,
            ci.getoperationcost(closed, before),
            closedcomm,
            opened,
            ci.getoperationcost(opened, e.price),
            openedcomm,
            ci.margin,
            pnl,
            psize,
            pprice,
        )
        if e.status == "filled" and order.alive():
            order.completed()  # the venue's size was rounded below ours: the order is done
        self.notify(order)
        if not order.alive():
            self._live.pop(order.info.get("oid"), None)
        if order.status == bt.Order.Completed and order.parent is None and _intent(order) == "exit":
            self._exits.pop(order.info.get("oid"), None)

    def _finish(self, order, status: str) -> None:
        if not order.alive():
            return
        if status == "rejected":
            order.reject(self)
        elif status == "expired":
            order.status = bt.Order.Expired
        else:
            order.cancel()
        self.notify(order)
        cid = order.info.get("oid")
        self._live.pop(cid, None)
        if order.parent is None and order.executed.size == 0:
            for kid in self._exits.pop(cid, {}).values():
                self._finish(kid, "canceled")

    # ---- venue state --------------------------------------------------------------------
    def _refresh(self) -> None:
        acct = self.router.venue.account()
        self._cash, self._value = acct.cash, acct.equity
        held = self.router.venue.positions()
        for sym in set(held) | set(self._positions):
            qty, pos = self._tradable(sym, held.get(sym, 0.0)), self._positions[sym]
            if abs(pos.size - qty) > 1e-9:
                if abs(pos.size - qty) > 1e-6 * max(1.0, abs(qty)):
                    logger.info("{}: position {} -> {} (venue)", sym, pos.size, qty)
                pos.set(qty, pos.price if qty else 0.0)

    def _tradable(self, sym: str, qty: float) -> float:
        """Return ``qty``, or 0 for dust: a holding worth less than ``dust_value`` (left by spot fees)."""
        hist = self.poller.history.get(sym)
        if qty and hist is not None and len(hist) and abs(qty) * float(hist["close"].iloc[-1]) < self.dust_value:
            return 0.0
        return qty

    def _bar_time(self, data) -> pd.Timestamp | None:
        seq = self.index.get(data._name)
        return seq[len(data) - 1] if seq is not None and len(data) else None

    def _current_bar(self) -> pd.Timestamp | None:
        last = [seq[-1] for seq in self.index.values() if len(seq)]
        return max(last) if last else None


def _intent(order) -> str:
    """Return ``entry``, ``exit`` or ``rebalance`` (a portfolio strategy's order, which may open, add to,
    reduce or close a position) for a strategy order, from the reason the adapter gave it (a short entry
    is a sell, its exit a buy); orders without a reason: buys enter, sells exit."""
    reason = order.info.get("reason")
    if reason is None:
        return "entry" if order.isbuy() else "exit"
    return reason if reason in ("entry", "rebalance") else "exit"


def _exit_kind(order) -> str:
    if order.exectype == bt.Order.StopTrail:
        return "trailing_stop"
    return "stop_loss" if order.exectype == bt.Order.Stop else "take_profit"


class StepEnd(bt.Analyzer):
    """Runs after every strategy step: hands the step's orders to the live broker."""

    def next(self) -> None:
        broker = self.strategy.broker
        if isinstance(broker, LiveBroker):
            broker.after_step()
