"""Run one live or paper session: reconcile, warm up, build the Cerebro, trade, shut down.

The Cerebro holds the same :class:`~bot.engine.adapter.StrategyAdapter` and strategy class as
a backtest; only the broker (:class:`~bot.engine.live_broker.LiveBroker`) and the data feeds
(:mod:`bot.engine.live_feed`) differ.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pandas as pd
from loguru import logger

from bot.config import Config
from bot.data.schema import union_calendar
from bot.engine.adapter import EngineContext
from bot.engine.live_broker import LiveBroker
from bot.engine.live_cerebro import live_cerebro
from bot.engine.portfolio import PortfolioAdapter
from bot.errors import OrderRejectedError, TransientVenueError, VenueError
from bot.instruments import any_crypto
from bot.ledger import Ledger, OpenTrade
from bot.live.audit import log_audit
from bot.live.bars import BarPoller, Wait
from bot.live.journal import FINAL, OPEN, Journal
from bot.live.model import LiveModel, log_startup_model
from bot.live.reconcile import ReconcileReport, reconcile
from bot.live.router import OrderRouter
from bot.retrain.live_lifecycle import LiveLifecycle
from bot.risk.killswitch import KillSwitch
from bot.venues.base import VenueClient
from strategies import build_strategy
from strategies.base import PortfolioStrategy, Strategy

LAST_BAR = "last_bar"
READY = "ready_session"


@dataclass
class SessionResult:
    session_id: int
    bars: int  # time steps traded
    ledger: Ledger
    reconcile: ReconcileReport
    model_version: str | None
    positions: dict[str, float]
    equity: float
    cash: float


def warmup_bars(cfg: Config, strategy: Strategy | PortfolioStrategy) -> int:
    """Return how many closed bars to load before the first traded one."""
    if cfg.live.warmup_bars is not None:
        return cfg.live.warmup_bars
    if strategy.uses_model:
        return cfg.validation.train
    return strategy.warmup_bars()


def run_session(
    cfg: Config,
    venue: VenueClient,
    journal: Journal,
    *,
    wait: Wait,
    max_bars: int | None = None,
    stop: threading.Event | None = None,
    strategy: Strategy | PortfolioStrategy | None = None,
) -> SessionResult:
    """Trade ``cfg`` on ``venue`` until ``max_bars`` steps, the end of a replay, or ``stop``.

    ``strategy`` replaces the one ``cfg`` names (a strategy object built elsewhere, e.g. in a test).
    """
    stop = stop or threading.Event()
    journal.lock(cfg.name)  # one live session per journal and config name (run_live.py took it already)
    life = LiveLifecycle(cfg, journal)  # metrics, scheduled retrain + hot swap, drift actions, shadow (issue 7)
    life.state.expect_order_statuses(OPEN + FINAL)  # mp_orders{status} from 0, before any order
    venue = life.instrument(venue)  # API latency, errors by kind, bar-to-order latency
    strategy = strategy or build_strategy(cfg)
    portfolio = isinstance(strategy, PortfolioStrategy)  # targets, not intents: drift decisions do not apply
    if not isinstance(strategy, PortfolioStrategy):
        strategy = life.guard(strategy)  # drift decisions act on the strategy's intents
    clock = venue.clock()
    sid = journal.start_session(cfg.name, getattr(venue, "name", "venue"), clock)
    last_bar = _last_bar(journal)
    router = OrderRouter(
        venue,
        journal,
        sid,
        since=_since(journal, clock),
        on_exit_rejected=cfg.live.on_exit_rejected,
        alert=life.alerter.send,
        alert_after=cfg.live.exit_alert_after,
        cancel_wait=cfg.live.cancel_wait_seconds,
    )
    report = reconcile(venue, journal, router, last_bar, clock)
    signals_sink = SignalSink(journal, sid)
    poller = BarPoller(
        venue,
        cfg.data.symbols,
        cfg.data.timeframe,
        strategy,
        wait=wait,
        poll_seconds=cfg.live.poll_seconds,
        max_bars=max_bars,
        late_bar_seconds=cfg.live.late_bar_seconds,
        on_signals=signals_sink,
    )
    history = poller.warm_up(warmup_bars(cfg, strategy), resume_after=last_bar)
    model = life.adopt(_model(cfg, strategy, history))  # a new champion takes over at a bar boundary
    poller.model = model
    poller.settle()  # bars that closed while the model trained are history, not trades
    poller.prime()  # streamed features and signals caught up before the first traded bar
    version = model.version if model else None
    signals_sink.version = version
    journal.set_session_model(sid, version)
    ledger = Ledger()
    index: dict[str, list[pd.Timestamp]] = {s: [] for s in cfg.data.symbols}
    _seed_open_trades(ledger, journal, report.positions, cfg.data.symbols, clock)
    kill = _kill_switch(cfg, journal, venue)

    def on_step(now: pd.Timestamp) -> None:  # the bar's orders are out: journal the rest of the step
        signals_sink.flush()
        _finish_step(journal, broker, venue, now, sid)
        life.on_step(now, poller.history, kill, broker.getvalue(), broker.getcash())

    broker = LiveBroker(
        router, poller, index, cfg.broker.commission, version, on_step=on_step, dust_value=cfg.live.dust_value
    )
    ctx = EngineContext(
        strategy=strategy,
        config=cfg,
        index=index,
        ledger=ledger,
        fractional=_fractional(cfg),
        kill_switch=kill,
        borrow_per_bar=getattr(venue, "borrow_per_bar", 0.0),
    )  # the paper venue's: into trades

    def on_model_switch(v: str) -> None:
        broker.model_version = v
        signals_sink.version = v

    life.on_model_switch(on_model_switch)
    adapter: dict[str, Any] = dict(adapter=PortfolioAdapter, step0=len(union_calendar(history))) if portfolio else {}
    cerebro = live_cerebro(
        cfg.data.symbols, poller, strategy.signal_columns, cfg.data.timeframe, index, broker, ctx, **adapter
    )
    life.start(lambda: poller.history)

    def stop_poller_when_asked() -> None:
        stop.wait()
        poller.stop()

    watcher = threading.Thread(target=stop_poller_when_asked, daemon=True)
    watcher.start()
    status = "crashed"
    journal.put_state(READY, sid)  # warmed up: every bar closing from now on is traded
    try:
        logger.info("session {} started on {} at venue time {}", sid, getattr(venue, "name", "venue"), clock)
        cerebro.run(maxcpus=1)
        status = "stopped" if stop.is_set() else "ended"
    finally:
        stop.set()
        signals_sink.flush()
        _shut_down(cfg, router, journal, sid, status)
        life.stop()
    try:
        acct, held = venue.account(), venue.positions()
        equity, cash = acct.equity, acct.cash
    except VenueError:  # the summary falls back to the last values the broker read
        equity, cash, held = broker.getvalue(), broker.getcash(), {}
    return SessionResult(sid, poller.released, ledger, report, version, held, equity, cash)


def _model(cfg: Config, strategy: Strategy | PortfolioStrategy, history: dict[str, pd.DataFrame]) -> LiveModel | None:
    if not strategy.uses_model:
        return None
    if cfg.live.model_path:
        return LiveModel.load(cfg.live.model_path, cfg)
    model = LiveModel.train(history, cfg)
    log_startup_model(model, cfg)  # every training run is in MLflow (registry.log_training)
    return model


def _finish_step(journal: Journal, broker: LiveBroker, venue: VenueClient, now: pd.Timestamp, sid: int) -> None:
    """Journal the finished step: equity, positions, and the bar as done (after its orders went out)."""
    journal.record_equity(now, broker.getvalue(), broker.getcash(), sid)
    try:
        journal.snapshot_positions(now, venue.positions(), sid)
    except (TransientVenueError, OrderRejectedError) as err:  # the next step snapshots again
        logger.warning("positions not snapshotted at {}: {}", now, err)
    journal.put_state(LAST_BAR, now.isoformat())


class SignalSink:
    """Journal each bar's signal values with the model version that produced them.

    Values are kept until :meth:`flush`, which the session calls once the bar's orders are out
    (journaling them is not on the way from a bar to its orders). A process killed in between
    loses no signal: the bar is not marked finished, so the next run trades it again.
    """

    def __init__(self, journal: Journal, sid: int):
        self.journal, self.sid = journal, sid
        self.version: str | None = None
        self._pending: list[tuple[pd.Timestamp, dict[str, dict], str | None]] = []

    def __call__(self, t: pd.Timestamp, by_symbol: dict[str, dict]) -> None:
        self._pending.append((t, by_symbol, self.version))

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        for t, by_symbol, version in pending:
            self.journal.record_signals(t, by_symbol, version, self.sid)  # one transaction per bar


def _last_bar(journal: Journal) -> pd.Timestamp | None:
    text = journal.get_state(LAST_BAR)
    return pd.Timestamp(text) if text else None


def _since(journal: Journal, clock: pd.Timestamp) -> pd.Timestamp:
    """Return the time from which venue fills concern this journal (its first session's start)."""
    started = [s["started"] for s in journal.sessions() if s["started"] is not None]
    return min(started) if started else clock


def _kill_switch(cfg: Config, journal: Journal, venue: VenueClient) -> KillSwitch:
    """Seed the kill switch with the journal's equity history, so a restart keeps peak and day."""
    equity = venue.account().equity
    marks = journal.equity()
    if marks.empty:
        return KillSwitch(cfg.risk, equity)
    last_day = marks["time"].iloc[-1].normalize()
    before = marks[marks["time"] < last_day]
    day_open = float(before["equity"].iloc[-1]) if len(before) else float(marks["equity"].iloc[0])
    return KillSwitch(
        cfg.risk,
        equity,
        peak=float(marks["equity"].max()),
        day=last_day,
        day_open=day_open,
        last=float(marks["equity"].iloc[-1]),
    )


def _seed_open_trades(
    ledger: Ledger, journal: Journal, held: dict[str, float], symbols: list[str], clock: pd.Timestamp
) -> None:
    """Give the session's ledger the positions it starts with (opened by an earlier run), so an exit
    closes a known round trip; entry price and time come from the journal's last filled entry."""
    for sym in symbols:
        qty = held.get(sym, 0.0)
        if qty == 0:
            continue
        side = "buy" if qty > 0 else "sell"  # a short's entry is a sell
        entries = [
            r
            for r in journal.orders(["filled"], symbol=sym)
            if r.side == side and r.parent_id is None and (qty > 0 or r.intent in ("entry", "rebalance"))
        ]
        last = entries[-1] if entries else None
        price = last.avg_price if last is not None and last.avg_price else 0.0
        when = (last.updated or last.bar_time) if last is not None else clock
        ledger.open_trades[sym] = OpenTrade(
            sym, when, "long" if qty > 0 else "short", abs(qty), price, last.commission if last else 0.0, 0.0, None
        )
        logger.info("{}: holding {:g} from an earlier run (entry {:g} at {})", sym, qty, price, when)


def _fractional(cfg: Config) -> bool:
    if cfg.broker.fractional is not None:
        return cfg.broker.fractional
    return any_crypto(cfg.data.symbols)


def _cancel_open(router: OrderRouter) -> None:
    """live.on_shutdown=cancel: cancel this journal's open orders and resting exits."""
    for row in router.journal.open_orders():
        if row.status != "pending":
            router.cancel(row.client_id, row.symbol)
    for symbol in list(router.armed()):
        router.cancel_exits(symbol)
    logger.info("open orders cancelled (live.on_shutdown: cancel)")


def _shut_down(cfg: Config, router: OrderRouter, journal: Journal, sid: int, status: str) -> None:
    """Leave open orders as live.on_shutdown says, snapshot the venue's positions, close the session."""
    clock = None
    try:
        if cfg.live.on_shutdown == "cancel":
            _cancel_open(router)
        router.sync_fills(queue=False)
        clock = router.venue.clock()
        journal.snapshot_positions(clock, router.venue.positions(), sid)
        log_audit(router.venue, journal)  # the journal must equal the venue (python -m bot.live audit)
    except VenueError as err:  # the journal is reconciled at the next start anyway
        logger.warning("could not finish the shutdown at the venue: {}", err)
    journal.end_session(sid, clock, status)
