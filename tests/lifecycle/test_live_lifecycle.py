"""LiveLifecycle: the calls a live session makes, driven by a simulated bar loop on generated data."""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pandas as pd
import pytest

from bot.errors import RateLimitedError
from bot.models.registry import ModelRegistry
from bot.monitoring.instrument import ERROR_KINDS, InstrumentedVenue
from bot.monitoring.state import LiveState
from bot.retrain.job import run_retrain
from bot.retrain.live_lifecycle import LiveLifecycle
from bot.retrain.scheduler import BundleBarModel
from strategies import build_strategy
from strategies.base import BarView, Enter
from tests.lifecycle.conftest import make_config
from tests.lifecycle.gen import ar_bars
from tests.lifecycle.loopback import WebhookServer
from tests.lifecycle.test_monitoring import scrape


class FakeVenue:
    name = "fake"

    def __init__(self, bars):
        self.bars, self.calls = bars, 0

    def get_bars(self, symbol, timeframe, limit=None):
        return self.bars[symbol]

    def submit_order(self, req):
        self.calls += 1
        if self.calls == 2:
            raise RateLimitedError("slow down", retry_after=1)
        return "ok"


def test_instrumented_venue_reports_latency_errors_and_bar_to_order():
    state = LiveState()
    ticks = iter([0.0, 0.5, 1.0, 1.25, 2.0, 2.1])
    bars = {"AAA": ar_bars(5, 0.0, seed=1)}
    venue = InstrumentedVenue(FakeVenue(bars), state, clock=lambda: next(ticks))
    assert len(venue.get_bars("AAA", "1d")) == 5  # t 0 -> 0.5, the bar is known at 0.5
    assert venue.submit_order("req") == "ok"  # sent at 1.0: 0.5 s after the bar was known
    with pytest.raises(RateLimitedError):
        venue.submit_order("req")
    assert venue.name == "fake" and venue.inner.calls == 2
    s = state.snapshot()
    assert s["errors"] == {**dict.fromkeys(ERROR_KINDS, 0), "rate_limited": 1}  # every kind from 0
    assert s["api_latency"]["get_bars"].n == 1 and s["api_latency"]["submit_order"].n == 2
    assert s["api_latency"]["submit_order"].total == pytest.approx(0.25 + 0.1)
    assert s["bar_to_order"].n == 1 and s["bar_to_order"].total == pytest.approx(0.5)  # failed sends: not counted


@pytest.fixture
def registered(store):
    """A champion trained before bar 600, where volatility triples and momentum turns into mean reversion,
    and a rejected challenger (for shadow mode)."""
    vol = np.where(np.arange(800) < 600, 0.01, 0.03)
    phi = np.where(np.arange(800) < 600, 0.3, -0.3)
    bars = {"AAA": ar_bars(800, phi, vol, seed=21), "BBB": ar_bars(800, phi, vol, seed=22)}
    cfg = make_config(
        store,
        data={"symbols": ["AAA", "BBB"]},
        validation={"train": 250, "test": 80, "embargo": 2},
        drift={"window": 40, "action": "halt_entries", "check_every": 1},
        retrain={"shadow": True, "margin": 0.5},
        monitoring={"port": 0},
        strategy={"params": {"entry_threshold": 0.5}},
    )
    assert run_retrain(cfg, {s: b.iloc[:420] for s, b in bars.items()}, code_version="t").promoted
    assert not run_retrain(cfg, {s: b.iloc[:500] for s, b in bars.items()}, code_version="t").promoted
    return cfg, bars, store


def test_session_calls_drive_metrics_drift_actions_alerts_and_shadow(registered, monkeypatch):
    cfg, bars, store = registered
    reg = ModelRegistry.for_config(cfg)
    model, version = reg.load("champion")
    with WebhookServer() as hook:
        monkeypatch.setenv("MP_ALERT_WEBHOOK_URL", hook.url)
        life = LiveLifecycle(cfg, registry=reg, state_dir=store / "state")
        raw = build_strategy(cfg)
        strategy = life.guard(raw)
        slot = life.adopt(BundleBarModel(model, f"lifecycle-test/v{version}"))
        switched = []
        life.on_model_switch(switched.append)
        history: dict[str, pd.DataFrame] = {}
        life.start(lambda: history)
        halted_entries, entries = [], []
        try:
            for i in range(520, 700):
                for s, b in bars.items():
                    history[s] = b.iloc[: i + 1]
                at = bars["AAA"].index[i]
                probs = slot.prob_up(history, at)
                inner = {s: raw.decide(_view(s, at, history, probs)) for s in probs}  # unguarded
                for s in probs:
                    intent = strategy.decide(_view(s, at, history, probs))
                    if isinstance(inner[s], Enter):
                        (entries if intent is not None else halted_entries).append(i)
                life.on_step(at, history)
            metrics = scrape(life.server)
            status = json.loads(urllib.request.urlopen(life.server.url + "/status", timeout=5).read())
        finally:
            life.stop()
        alerts = [r["json"]["title"] for r in hook.received]
    assert life.decision.drift and life.decision.halt_entries
    assert (
        halted_entries and min(halted_entries) > 600 and not [i for i in entries if i > max(600, min(halted_entries))]
    )
    assert alerts.count("drift in lifecycle-test") == 1
    assert metrics[("mp_drift_detected", ())] == 1 and metrics[("mp_drift_entries_halted", ())] == 1
    assert metrics[("mp_model_version", (("role", "live"),))] == 1
    assert metrics[("mp_model_version", (("role", "challenger"),))] == 2
    assert metrics[("mp_bars_total", ())] == 180 and metrics[("mp_shadow_orders_total", ())] > 0
    assert (
        status["live_model_version"] == "lifecycle-test/v1" and status["drift"]["decision"]["action"] == "halt_entries"
    )
    shadow = pd.read_csv(store / "state" / "lifecycle-test-shadow.csv")
    assert set(shadow["model_version"]) == {"lifecycle-test/v2"} and set(shadow["action"]) <= {"enter", "exit"}
    assert switched == [] and life.server is not None


def _view(sym, at, history, probs):
    df = history[sym]
    return BarView(sym, at, float(df["close"].iloc[-1]), {"prob_up": probs[sym], "payoff": 1.0}, 0.0, False)


def test_drift_action_retrain_triggers_a_retrain_and_the_switch(registered, monkeypatch):
    cfg, bars, store = registered
    cfg = cfg.model_copy(
        update={
            "drift": cfg.drift.model_copy(update={"action": "retrain"}),
            "retrain": cfg.retrain.model_copy(update={"margin": 0.02, "shadow": False}),
            "validation": cfg.validation.model_copy(update={"train": 120, "test": 60}),
        }
    )
    reg = ModelRegistry.for_config(cfg)
    model, version = reg.load("champion")
    life = LiveLifecycle(cfg, registry=reg)
    slot = life.adopt(BundleBarModel(model, f"lifecycle-test/v{version}"))
    switched = []
    life.on_model_switch(switched.append)
    history: dict[str, pd.DataFrame] = {}
    life.start(lambda: history)
    try:
        i = 790  # the challenger trains on [610, 730) (mean reversion) and is scored on [730, 791)
        for s, b in bars.items():
            history[s] = b.iloc[: i + 1]
        slot.prob_up(history, bars["AAA"].index[i])
        life.on_step(bars["AAA"].index[i], history)
        assert life.decision.retrain and life.scheduler.finished.wait(30)
        outcome = life.scheduler.last_result
        assert life.scheduler.last_error is None and outcome is not None
        for j in (791, 792):
            for s, b in bars.items():
                history[s] = b.iloc[: j + 1]
            slot.prob_up(history, bars["AAA"].index[j])
    finally:
        life.stop()
    assert outcome.promoted, outcome.decision.reason
    assert switched == [f"lifecycle-test/v{outcome.versions['challenger']}"] == [slot.version]
    assert slot.switches == [(bars["AAA"].index[791], slot.version)]  # the first bar after the retrain
    assert life.state.snapshot()["retrain"]["outcome"] == "promoted"
