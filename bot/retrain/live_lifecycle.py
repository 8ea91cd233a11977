"""The model lifecycle inside one live or paper session, behind a handful of calls the session makes.

    life = LiveLifecycle(cfg, journal)          # state, exporter, scheduler, drift, alerts, shadow
    venue = life.instrument(venue)              # API latency, errors by kind, bar-to-order latency
    strategy = life.guard(build_strategy(cfg))  # drift decisions (halt entries, scale sizes) on intents
    model = life.adopt(model)                   # a ModelSlot: new champions switch at the next bar
    life.on_model_switch(callback)              # e.g. update the version journaled with orders/signals
    life.start(lambda: poller.history)          # /metrics server and the retrain schedule
    ... each finished step:  life.on_step(now, poller.history, kill_switch)
    life.stop()

Nothing here decides trades: the session keeps its strategy and order path; this adds monitoring,
scheduled retraining with a hot swap, drift checks that act through the strategy's intents, and
the challenger's shadow record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
from loguru import logger

from bot.alerts import Alerter
from bot.data.loading import load_data
from bot.drift.detector import DriftDecision, DriftLatch
from bot.drift.monitor import DriftMonitor
from bot.errors import without_credentials
from bot.models.registry import CHALLENGER, ModelRegistry
from bot.monitoring.exporter import MetricsServer
from bot.monitoring.instrument import InstrumentedVenue
from bot.monitoring.state import LiveState
from bot.retrain.scheduler import BundleBarModel, ModelSlot, RetrainScheduler, live_retrain_job
from strategies import build_strategy

if TYPE_CHECKING:
    from bot.drift.monitor import DriftMonitor
    from bot.retrain.shadow import ShadowRecorder
    from strategies.base import Strategy

History = Callable[[], Mapping[str, pd.DataFrame]]


class GuardedStrategy:
    """A strategy whose intents pass through the current drift decision; everything else is the strategy's."""

    def __init__(self, inner, decision: Callable[[], DriftDecision]):
        self._inner = inner
        self._decision = decision

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def decide(self, view):
        return self._decision().apply(self._inner.decide(view))


class LiveLifecycle:
    """Monitoring, scheduled retraining, drift actions and shadow mode for one session."""

    def __init__(
        self,
        cfg,
        journal=None,
        *,
        registry=None,
        alerter: Alerter | None = None,
        wall: Callable[[], float] = time.time,
        state_dir: str | Path = "state",
        sync_seconds: float = 5.0,
    ):
        self.cfg = cfg
        self.journal = journal
        self.wall = wall
        self.state = LiveState(cfg.name, list(cfg.data.symbols))
        self.alerter = alerter or Alerter.from_config(cfg.alerts)
        self._registry = registry
        self.state_dir = Path(state_dir)
        self._latch = DriftLatch(cfg.drift.clear_after)  # holds the drift decision the strategy acts on
        self.slot: ModelSlot | None = None
        self.monitor: DriftMonitor | None = None
        self.shadow: ShadowRecorder | None = None
        self.scheduler: RetrainScheduler | None = None
        self.server: MetricsServer | None = None
        self._history: History = dict
        self._switch_callbacks: list[Callable[[str], None]] = []
        self._last_bar: pd.Timestamp | None = None
        self._prices: dict[str, float] = {}
        self._account_given = False
        self._synced: float | None = None
        self._steps = 0
        self.sync_seconds = sync_seconds

    # ----------------------------------------------------------------- wiring

    @property
    def registry(self):
        if self._registry is None:
            self._registry = ModelRegistry.for_config(self.cfg)
        return self._registry

    def instrument(self, venue) -> InstrumentedVenue:
        """Return the venue wrapped so its calls feed latency and error metrics."""
        return InstrumentedVenue(venue, self.state)

    def guard(self, strategy: Strategy) -> Strategy:
        """Return the strategy with drift decisions applied to its intents.

        A GuardedStrategy proxy, typed as the Strategy it stands in for: every attribute but
        ``decide`` is the wrapped strategy's (isinstance checks see the proxy).
        """
        return cast("Strategy", GuardedStrategy(strategy, lambda: self.decision))

    def adopt(self, model) -> ModelSlot | None:
        """Put the session's model in a ModelSlot (None for rule-based strategies) and return the slot."""
        if model is None:
            return None
        self.slot = ModelSlot(model, on_switch=self._switched)
        self._expose(model)
        return self.slot

    def _expose(self, model) -> None:
        """Export the model now trading: its version and the features its drift checks score."""
        self.state.set_model("live", model.version, self.registry_name)
        self.state.expect_drift_features(getattr(getattr(model, "model", None), "features", ()))

    @property
    def decision(self) -> DriftDecision:
        """The drift decision in force (see ``DriftLatch``)."""
        return self._latch.decision

    @property
    def registry_name(self) -> str:
        return self.cfg.registry.model_name or self.cfg.name

    def on_model_switch(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(new_version)`` whenever a new model starts trading (at a bar boundary)."""
        self._switch_callbacks.append(callback)

    def start(self, history: History) -> LiveLifecycle:
        """Start the exporter and the retrain schedule; ``history()`` returns the bars seen so far."""
        self._history = history
        m = self.cfg.monitoring
        if m.enabled:
            try:
                self.server = MetricsServer.from_config(self.state, m).start()
                logger.info(f"metrics on {self.server.url}/metrics (also /health, /status)")
            except OSError as e:  # the port is taken: trade on, but say so loudly
                self.alerter.send(
                    "critical", f"metrics exporter not started for {self.cfg.name}", f"{m.host}:{m.port}: {e}"
                )
        if self.slot is not None and (self.cfg.retrain.schedule or self.cfg.drift.action == "retrain"):
            job = live_retrain_job(
                self.cfg,
                self.retrain_bars,
                self.slot,
                lambda mdl, v: BundleBarModel(mdl, f"{self.registry_name}/v{v}"),
                self._registry,
                self.state,
                self.alerter,
            )
            self.scheduler = RetrainScheduler(
                job, self.cfg.retrain.schedule, self.cfg.retrain.timezone, on_done=self._retrained
            ).start()
            if self.scheduler.next_run() is not None:
                logger.info(f"next scheduled retrain: {self.scheduler.next_run()}")
        if self.slot is not None and self.cfg.retrain.shadow:
            self._load_shadow()
        return self

    def sync(self) -> None:
        """Refresh orders, fills, positions and last signals (and the account, unless given) from the journal."""
        if self.journal is None:
            return
        self.state.update_from_journal(self.journal, self._prices, account=not self._account_given)
        self._synced = self.wall()

    def stop(self) -> None:
        """Stop the schedule (letting a running retrain finish) and the exporter, after a last journal sync."""
        try:
            self.sync()
        except Exception as e:  # noqa: BLE001 - shutting down
            logger.warning(f"last journal sync failed: {type(e).__name__}: {e}")
        self.state.set_running(False)
        if self.scheduler is not None:
            self.scheduler.stop(wait=True)
        if self.server is not None:
            self.server.stop()

    # ----------------------------------------------------------------- per step

    def on_step(
        self,
        now: pd.Timestamp,
        history: Mapping[str, pd.DataFrame],
        kill_switch=None,
        equity: float | None = None,
        cash: float | None = None,
    ) -> None:
        """Record the finished step: account, journal state, kill switch, drift check, shadow decisions.

        Equity and cash given here (the broker's, cheap) win over the journal's; the journal (orders,
        fills, positions, last signals) is re-read at most every ``sync_seconds`` and at ``stop``.
        """
        self._last_bar = now
        self._prices = {s: float(df["close"].iloc[-1]) for s, df in history.items() if len(df)}
        if equity is not None:
            self.state.set_account(equity, cash if cash is not None else float("nan"))
        self._account_given = equity is not None
        if self.journal is not None and (self._synced is None or self.wall() - self._synced >= self.sync_seconds):
            self.sync()
        if kill_switch is not None:
            self.state.set_kill_switch(bool(getattr(kill_switch, "halted", False)))
        self.state.mark_bar(now, self.wall())
        self._steps += 1
        if self.slot is not None and self._steps % self.cfg.drift.check_every == 0:
            self._check_drift(history)
        if self.shadow is not None:
            try:
                self.shadow.on_bar(history, now)
            except Exception as e:  # noqa: BLE001 - the shadow must never disturb trading
                logger.warning(f"shadow challenger failed on {now}: {type(e).__name__}: {e}")

    def _check_drift(self, history: Mapping[str, pd.DataFrame]) -> None:
        slot_model = self.slot.model if self.slot is not None else None
        model = getattr(slot_model, "model", None)  # the TrainedModel inside the bar model
        if model is None:
            return
        try:
            if self.monitor is None or self.monitor.model is not model:
                self.monitor = DriftMonitor.for_model(model, history, self.cfg.drift)
            report, decision = self.monitor.check(history)
        except Exception as e:  # noqa: BLE001 - a failed check keeps the last decision
            logger.warning(f"drift check failed: {type(e).__name__}: {e}")
            return
        before = self.decision
        decision = self._latch.update(decision)
        self.state.set_drift(report, {**decision.as_dict(), "clean_checks": self._latch.clean_checks})
        if decision.drift and not before.drift:
            self.alerter.send(
                "warning", f"drift in {self.cfg.name}", "; ".join(decision.reasons), action=decision.action
            )
            if decision.retrain and self.scheduler is not None:
                self.scheduler.trigger_now()
        elif before.drift and not decision.drift:
            self.alerter.send("info", f"drift cleared in {self.cfg.name}")

    # ----------------------------------------------------------------- retraining

    def retrain_bars(self) -> dict[str, pd.DataFrame]:
        """Return the bars a live retrain may use: the session's, else the configured data up to the last bar."""
        hist = {s: df for s, df in dict(self._history()).items()}
        r, v = self.cfg.retrain, self.cfg.validation
        need = (r.train_bars or v.train) + (r.eval_bars or v.test) + v.embargo + 60  # + feature warm-up
        if hist and min(len(df) for df in hist.values()) >= need:
            return hist

        bars, _ = load_data(self.cfg)
        cut = self._last_bar
        return {s: df[df.index <= cut] if cut is not None else df for s, df in bars.items()}

    def _switched(self, old, new) -> None:
        self._expose(new)
        for callback in self._switch_callbacks:
            callback(new.version)
        self.monitor = None  # drift is measured against the new model's training window
        self._latch.new_model()

    def _retrained(self, outcome, error) -> None:
        if error is not None:  # e.g. the registry is unreachable: no swap, the current model trades on
            text = without_credentials(str(error))
            self.state.set_retrain(
                pd.Timestamp(self.wall(), unit="s", tz="UTC"), "failed", {"error": f"{type(error).__name__}: {text}"}
            )
            self.alerter.send("warning", f"retrain failed in {self.cfg.name}; model unchanged", text)
            return
        if self.cfg.retrain.shadow:
            self._load_shadow()

    def _load_shadow(self) -> None:
        from bot.retrain.shadow import ShadowRecorder

        try:
            if self.registry.alias_version(CHALLENGER) is None:
                self.shadow = None
                return
            model, version = self.registry.load(CHALLENGER)
        except Exception as e:  # noqa: BLE001 - no shadow rather than no session
            logger.warning(f"shadow challenger not loaded: {type(e).__name__}: {e}")
            return
        bar_model = BundleBarModel(model, f"{self.registry_name}/v{version}")
        self.state.set_model("challenger", version, self.registry_name)
        self.shadow = ShadowRecorder(
            build_strategy(self.cfg), bar_model, self.state_dir / f"{self.cfg.name}-shadow.csv", self.state
        )
        logger.info(f"shadow mode: challenger {bar_model.version} records would-be orders")
