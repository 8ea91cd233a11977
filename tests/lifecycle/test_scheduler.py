"""Scheduler: retrain in the background of a bar loop, switch at the next bar boundary, shadow mode."""

from __future__ import annotations

import datetime as dt
import threading
import time

import numpy as np
import pandas as pd
import pytest

from bot.monitoring.exporter import MetricsServer
from bot.monitoring.state import LiveState
from bot.retrain.job import run_retrain
from bot.retrain.scheduler import ModelSlot, RetrainScheduler, live_retrain_job
from bot.retrain.shadow import ShadowRecorder
from strategies import build_strategy
from tests.lifecycle.conftest import make_config
from tests.lifecycle.gen import ar_bars
from tests.lifecycle.test_monitoring import scrape


class Fixed:
    """A bar model answering a constant, tagged with its version."""

    def __init__(self, version: str, p: float = 0.5):
        self.version, self.p = version, p

    def prob_up(self, bars, at):
        return {s: self.p for s in bars}


class Registered:
    """A registry TrainedModel as the session's bar model (what bot.live.model.LiveModel does)."""

    def __init__(self, model, version: str):
        self.model, self.version = model, version

    def prob_up(self, bars, at):
        out = {}
        for sym, df in bars.items():
            X = self.model.feature_frame(df, bars).to_numpy(np.float64)[-1:]
            out[sym] = float(self.model.prob_up(X)[0])
        return out


def test_slot_switches_only_at_the_next_bar():
    slot = ModelSlot(Fixed("v1"))
    t1, t2 = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-02", tz="UTC")
    assert slot.begin_bar(t1).version == "v1"
    slot.stage(Fixed("v2"))
    assert slot.begin_bar(t1).version == "v1" and slot.staged_version == "v2"  # same bar: unchanged
    assert slot.begin_bar(t2).version == "v2" and slot.switches == [(t2, "v2")]
    assert slot.version == "v2" and slot.staged_version is None


def test_concurrent_staging_never_mixes_models_within_a_bar():
    slot = ModelSlot(Fixed("v0"))
    stop = threading.Event()

    def stager():
        k = 0
        while not stop.is_set():
            k += 1
            slot.stage(Fixed(f"v{k}"))
            time.sleep(0.0005)

    th = threading.Thread(target=stager)
    th.start()
    try:
        for i, t in enumerate(pd.date_range("2024-01-01", periods=300, freq="h", tz="UTC")):
            seen = set()
            for _ in range(3):
                seen.add(slot.begin_bar(t).version)
                time.sleep(0.0005)  # the stager runs in between
            assert len(seen) == 1, (i, seen)
    finally:
        stop.set()
        th.join()
    assert len(slot.switches) > 10


def test_scheduler_cron_trigger_now_and_failures():
    calls, done = [], []
    started, release = threading.Event(), threading.Event()

    def job():
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("data source down")
        started.set()
        assert release.wait(5)  # the first run stays busy until the test has seen it running
        return len(calls)

    sched = RetrainScheduler(job, "0 2 * * *", on_done=lambda r, e: done.append((r, e))).start()
    try:
        nxt = sched.next_run()
        assert (nxt.hour, nxt.minute) == (2, 0) and nxt.tzinfo is not None
        assert nxt - dt.datetime.now(dt.UTC) <= dt.timedelta(days=1)
        assert sched.trigger_now()
        assert started.wait(5)
        assert sched.running and not sched.trigger_now()  # one retrain at a time
        release.set()
        assert sched.finished.wait(5)
        sched.finished.clear()
        assert sched.trigger_now() and sched.finished.wait(5)
        assert isinstance(sched.last_error, RuntimeError)  # logged, the scheduler lives on
        sched.finished.clear()
        assert sched.trigger_now() and sched.finished.wait(5)
    finally:
        sched.stop()
    assert [r for r, _ in done] == [1, None, 3] and sched.runs == 3


@pytest.fixture
def flip_bars():
    phi = np.where(np.arange(760) < 500, -0.35, 0.35)
    return {"AAA": ar_bars(760, phi, seed=11), "BBB": ar_bars(760, phi, seed=12)}


def test_background_retrain_does_not_delay_bars_and_switches_at_a_boundary(store, flip_bars):
    cfg = make_config(store, data={"symbols": ["AAA", "BBB"]}, validation={"train": 250, "test": 80, "embargo": 2})
    first = run_retrain(cfg, {s: b.iloc[:460] for s, b in flip_bars.items()}, code_version="t")
    assert first.promoted
    from bot.models.registry import ModelRegistry

    reg = ModelRegistry.for_config(cfg)
    model, version = reg.load("champion")
    state = LiveState(cfg.name, list(flip_bars))
    slot = ModelSlot(
        Registered(model, f"v{version}"), on_switch=lambda old, new: state.set_model("live", new.version, reg.name)
    )
    state.set_model("live", slot.version, reg.name)
    seen: dict[str, pd.DataFrame] = {}
    lock = threading.Lock()

    def seen_so_far():
        with lock:
            return {s: df.copy() for s, df in seen.items()}

    job = live_retrain_job(
        cfg,
        seen_so_far,
        slot,
        lambda m, v: Registered(m, f"v{v}"),
        reg,
        state,
        clock=lambda: pd.Timestamp("2030-01-01", tz="UTC"),
    )
    sched = RetrainScheduler(job, cfg.retrain.schedule).start()
    timings, versions, during = [], [], []
    try:
        for i in range(600, 760):
            t0 = time.perf_counter()
            with lock:
                for s, b in flip_bars.items():
                    seen[s] = b.iloc[: i + 1]
            at = flip_bars["AAA"].index[i]
            probs = slot.prob_up(seen, at)  # the bar's decision
            assert set(probs) == {"AAA", "BBB"}
            versions.append(slot.version)
            state.mark_bar(at, time.time())
            timings.append(time.perf_counter() - t0)
            during.append(sched.running)
            if i == 700:
                assert sched.trigger_now()
            time.sleep(0.01)  # the next bar arrives
    finally:
        sched.stop()
    outcome = sched.last_result
    assert sched.last_error is None and outcome.promoted, outcome and outcome.decision.reason
    busy = [t for t, r in zip(timings, during, strict=True) if r]
    idle = [t for t, r in zip(timings, during, strict=True) if not r]
    assert len(busy) >= 3, "the retrain finished before the loop could show it kept running"
    assert max(busy) < max(0.25, 10 * np.median(idle)), (max(busy), np.median(idle))
    switch_at = versions.index("v2")
    assert set(versions[:switch_at]) == {"v1"} and set(versions[switch_at:]) == {"v2"}
    assert slot.switches == [(flip_bars["AAA"].index[600 + switch_at], "v2")]
    assert not during[switch_at] and 700 < 600 + switch_at  # switched after the retrain, at a new bar
    with MetricsServer(state, port=0) as server:
        m = scrape(server)
    assert m[("mp_model_version", (("role", "live"),))] == 2 and m[("mp_model_version", (("role", "champion"),))] == 2
    assert m[("mp_last_retrain_promoted", ())] == 1
    assert m[("mp_last_retrain_timestamp_seconds", ())] == pd.Timestamp("2030-01-01", tz="UTC").timestamp()


def test_shadow_records_would_be_orders_without_sending(tmp_path, flip_bars):
    cfg = make_config(strategy={"name": "ml_signal", "params": {"entry_threshold": 0.55, "exit_threshold": 0.5}})
    state = LiveState()
    probs = iter([0.7, 0.6, 0.4, 0.45, 0.8])
    model = Fixed("challenger-v3")
    model.prob_up = lambda bars, at: {"AAA": next(probs)}
    shadow = ShadowRecorder(build_strategy(cfg), model, tmp_path / "shadow.csv", state)
    bars = flip_bars["AAA"]
    rows = [shadow.on_bar({"AAA": bars.iloc[: 400 + k]}, bars.index[399 + k]) for k in range(5)]
    assert [[r["action"] for r in day] for day in rows] == [["enter"], [], ["exit"], [], ["enter"]]
    exit_row = rows[2][0]
    assert exit_row["trade_return"] == pytest.approx(bars["close"].iloc[401] / bars["close"].iloc[399] - 1)
    text = (tmp_path / "shadow.csv").read_text().splitlines()
    assert text[0] == "bar_time,symbol,model_version,prob_up,action,fraction,price,trade_return" and len(text) == 4
    assert shadow.summary()["closed_trades"] == 1 and shadow.summary()["open"] == ["AAA"]
    assert state.snapshot()["shadow_orders"] == 3
