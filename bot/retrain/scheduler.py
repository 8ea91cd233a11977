"""Retraining inside a live session: a cron schedule in a background thread, and a model hot swap.

``RetrainScheduler`` runs a retrain job on ``retrain.schedule`` (cron, APScheduler) in one worker
thread: at most one retrain at a time, missed runs coalesced, never on the trading thread.
``trigger_now()`` queues an immediate run (the drift action ``retrain`` uses it).

``ModelSlot`` is what the session's bar loop asks for probabilities. A newly promoted champion is
``stage``d from the worker thread and becomes current only when the loop starts the next bar
(the first ``prob_up(bars, at)`` call with a new ``at``), so every decision on a bar comes from
one model, and the version behind it is ``slot.version``.

``live_retrain_job`` is the job a session schedules: retrain on the bars the session has seen so
far, and stage the new champion when the gate promoted one.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import pandas as pd
from loguru import logger

from bot.errors import UserError
from bot.models.registry import CHAMPION, ModelRegistry


class BarModel(Protocol):
    """What a live session trades on (e.g. ``bot.live.model.LiveModel``)."""

    version: str

    def prob_up(self, bars: Mapping[str, pd.DataFrame], at: pd.Timestamp) -> dict[str, float]: ...


class BundleBarModel:
    """A registry TrainedModel as a bar model: P(up) of each symbol whose newest bar is ``at``."""

    def __init__(self, model, version: str):
        self.model = model
        self.version = version

    def prob_up(self, bars: Mapping[str, pd.DataFrame], at: pd.Timestamp) -> dict[str, float]:
        out = {}
        for sym, df in bars.items():
            if len(df) and df.index[-1] == at:
                X = self.model.feature_frame(df, bars).to_numpy(dtype=float)[-1:]
                out[sym] = float(self.model.prob_up(X)[0])
        return out


class ModelSlot:
    """The current model, swapped for a staged one at the next bar boundary (thread-safe)."""

    def __init__(self, model: BarModel | None, on_switch: Callable[[BarModel | None, BarModel], None] | None = None):
        self._lock = threading.Lock()
        self._current = model
        self._staged: BarModel | None = None
        self._bar: pd.Timestamp | None = None
        self.on_switch = on_switch
        self.switches: list[tuple[pd.Timestamp, str]] = []  # (first bar, version) of every switch

    @property
    def model(self) -> BarModel | None:
        with self._lock:
            return self._current

    @property
    def version(self) -> str | None:
        m = self.model
        return None if m is None else m.version

    @property
    def staged_version(self) -> str | None:
        with self._lock:
            return None if self._staged is None else self._staged.version

    def stage(self, model: BarModel) -> None:
        """Queue ``model`` to replace the current one at the next bar boundary (any thread)."""
        with self._lock:
            self._staged = model
        logger.info(f"model {model.version} staged; it trades from the next bar")

    def begin_bar(self, at: pd.Timestamp) -> BarModel | None:
        """Start bar ``at``: apply a staged model if this is a new bar; return the model for it."""
        switched_to: BarModel | None = None
        previous = None
        with self._lock:
            if at != self._bar:
                self._bar = at
                if self._staged is not None:
                    previous, switched_to = self._current, self._staged
                    self._current, self._staged = switched_to, None
                    self.switches.append((at, switched_to.version))
            current = self._current
        if switched_to is not None:
            before = getattr(previous, "version", None)
            logger.info(f"bar {at}: switched model {before} -> {switched_to.version}")
            if self.on_switch is not None:
                self.on_switch(previous, switched_to)
        return current

    def prime(self, bars: Mapping[str, pd.DataFrame]) -> None:
        """Let the current model catch up with ``bars`` before trading (models that stream features)."""
        prime = getattr(self.model, "prime", None)
        if prime is not None:
            prime(bars)

    def prob_up(self, bars: Mapping[str, pd.DataFrame], at: pd.Timestamp) -> dict[str, float]:
        """Return P(up) at bar ``at`` from the model in force for that bar."""
        model = self.begin_bar(at)
        return {} if model is None else model.prob_up(bars, at)


class RetrainScheduler:
    """Run ``job`` on a cron schedule (or a given APScheduler trigger) in one background worker."""

    def __init__(
        self,
        job: Callable[[], Any],
        cron: str | None,
        timezone: str = "UTC",
        on_done: Callable[[Any, BaseException | None], None] | None = None,
        trigger=None,
    ):
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.cron import CronTrigger

        self.job = job
        self.on_done = on_done
        self.trigger = trigger or (CronTrigger.from_crontab(cron, timezone=timezone) if cron else None)
        self._scheduler = BackgroundScheduler(
            timezone=timezone,
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        self._busy = threading.Lock()
        self.runs = 0
        self.last_result: Any = None
        self.last_error: BaseException | None = None
        self.finished = threading.Event()  # set after every run (tests and shutdown wait on it)

    @property
    def running(self) -> bool:
        return self._busy.locked()

    def start(self) -> RetrainScheduler:
        """Start the scheduler thread (and the cron job when a schedule is set)."""
        if self.trigger is not None:
            self._scheduler.add_job(self._run, self.trigger, id="retrain", name="retrain", replace_existing=True)
        self._scheduler.start()
        return self

    def next_run(self) -> dt.datetime | None:
        """Return when the scheduled retrain runs next (None without a schedule)."""
        job = self._scheduler.get_job("retrain")
        return None if job is None else job.next_run_time

    def trigger_now(self) -> bool:
        """Queue one immediate retrain; return False if one is already running."""
        if self.running:
            return False
        self._scheduler.add_job(self._run, id="retrain-now", name="retrain now", replace_existing=True)
        return True

    def stop(self, wait: bool = True) -> None:
        """Stop scheduling; with ``wait`` let a running retrain finish first."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    def _run(self) -> None:
        if not self._busy.acquire(blocking=False):
            logger.info("retrain already running; this run is skipped")
            return
        self.finished.clear()
        result = None
        error: Exception | None = None
        try:
            result = self.job()
        except UserError as e:  # e.g. the registry is unreachable: one line, the session trades on unchanged
            error = e
            logger.error(f"scheduled retrain failed, model unchanged: {e.line()}")
        except Exception as e:  # noqa: BLE001 - a failed retrain must never stop the session
            error = e
            logger.exception(f"scheduled retrain failed: {type(e).__name__}: {e}")
        finally:
            self.runs += 1
            self.last_result, self.last_error = result, error
            self._busy.release()
        try:
            if self.on_done is not None:
                self.on_done(result, error)
        finally:
            self.finished.set()


def live_retrain_job(
    cfg,
    bars_provider: Callable[[], Mapping[str, pd.DataFrame]],
    slot: ModelSlot,
    wrap: Callable[[Any, int], BarModel],
    registry=None,
    state=None,
    alerter=None,
    clock: Callable[[], Any] | None = None,
) -> Callable[[], Any]:
    """Return the job a live session schedules: retrain on ``bars_provider()``, stage a promoted champion.

    ``bars_provider`` must return only bars the session has already seen (never later ones);
    ``wrap(model, version)`` turns a registry TrainedModel into the session's model object.
    ``state`` (a LiveState) and ``alerter`` (an Alerter) are told the outcome when given; ``clock``
    stamps the outcome (default: the wall clock, this is infrastructure, not a trading decision).
    """
    from bot.retrain.job import run_retrain

    now = clock or (lambda: pd.Timestamp.now(tz="UTC"))

    def job():
        reg = registry or ModelRegistry.for_config(cfg)
        outcome = run_retrain(cfg, dict(bars_provider()), reg)
        if outcome.promoted:
            model, version = reg.load(CHAMPION)
            slot.stage(wrap(model, version))
        if state is not None:
            state.set_retrain(
                now(),
                "promoted" if outcome.promoted else "rejected",
                {"reason": outcome.decision.reason, "versions": outcome.versions},
            )
            state.set_model("champion", outcome.versions.get("champion_after"), reg.name)
            state.set_model("challenger", outcome.versions.get("challenger"), reg.name)
        if alerter is not None:
            alerter.send(
                "warning" if outcome.promoted else "info",
                f"retrain {cfg.name}",
                outcome.decision.reason,
                versions=outcome.versions,
            )
        return outcome

    return job
