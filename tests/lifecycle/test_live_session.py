"""A whole paper session on the loopback Alpaca fake with the lifecycle wired in: a scheduled retrain
runs in the background while bars keep flowing, the promoted champion takes over at a bar boundary
(journaled with every later signal and order), and /metrics, scraped between bars, matches the journal.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
from pydantic import SecretStr

pytest.importorskip("bot.live.session")

import bot.live.session as session_mod  # noqa: E402
from bot.configure import parse_config  # noqa: E402
from bot.live.journal import FINAL, OPEN, Journal  # noqa: E402
from bot.retrain.live_lifecycle import LiveLifecycle  # noqa: E402
from tests.fakes.alpaca import FakeAlpaca  # noqa: E402
from tests.lifecycle.gen import ar_bars  # noqa: E402
from tests.lifecycle.test_monitoring import scrape  # noqa: E402

SYMBOLS = ["AAPL", "MSFT"]
WARMUP = 240
LIVE = 40
RETRAIN_AT = 10  # live bar at which the "cron" fires


def _bars():
    out = {}
    for i, s in enumerate(SYMBOLS):
        df = ar_bars(WARMUP + LIVE, 0.35, 0.01, seed=31 + i, start="2024-01-01")
        df.index = pd.date_range("2024-01-01", periods=len(df), freq="h", tz="UTC", name="timestamp")
        out[s] = df
    return out


def _config(tmp_path, port_store):
    return parse_config(
        dict(
            name="life-session",
            seed=5,
            data=dict(source="sample", symbols=SYMBOLS, timeframe="1h"),
            strategy=dict(name="ml_signal", params=dict(entry_threshold=0.52)),
            model=dict(type="logistic", features=["ret_1", "ret_5", "rsi_14"], calibration="none"),
            validation=dict(train=120, test=40, embargo=2),
            broker=dict(kind="alpaca", cash=100_000, commission=0.0, slippage=0.0),
            risk=dict(sizing="fixed_fraction", fraction=0.2, max_position=0.3),
            live=dict(state_db=f"sqlite:///{tmp_path / 'journal.db'}", poll_seconds=0, warmup_bars=WARMUP),
            registry=dict(tracking_uri=f"sqlite:///{port_store}/mlflow.db", artifact_location=str(port_store / "art")),
            retrain=dict(
                schedule="0 2 * * *", min_predictions=30, max_brier=0.3, beat_baseline=False
            ),  # gate: elsewhere
            monitoring=dict(port=0),
        )
    )


class Recorded(LiveLifecycle):
    """The real lifecycle, kept where the test can reach it, syncing the journal on every step."""

    last: Recorded | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sync_seconds = 0.0
        Recorded.last = self


def test_paper_session_retrains_in_the_background_and_switches_at_a_bar(tmp_path, store, monkeypatch):
    from bot.venues.alpaca import AlpacaVenue
    from bot.venues.credentials import AlpacaCredentials
    from bot.venues.retry import RetryPolicy

    monkeypatch.setattr(session_mod, "LiveLifecycle", Recorded)
    cfg = _config(tmp_path, store)
    steps, scraped = [], {}
    with FakeAlpaca(_bars(), timeframe="1Hour", warmup=WARMUP, cash=100_000) as fake:
        venue = AlpacaVenue(
            AlpacaCredentials(key_id=SecretStr(fake.key), secret_key=SecretStr(fake.secret)),
            trading_url=fake.base_url,
            data_url=fake.base_url,
            timeout=10,
            retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05),
        )
        journal = Journal(cfg.live.state_db)

        def wait(seconds: float) -> bool:  # between bars: the session is idle here
            life = Recorded.last
            steps.append((time.perf_counter(), life.scheduler.running))
            if len(steps) == RETRAIN_AT:
                assert life.scheduler.trigger_now()  # what the cron does at 02:00
            if fake.engine.remaining_bars() <= 0:
                scraped.update(
                    metrics=scrape(life.server),
                    equity=journal.equity(),
                    orders=journal.orders(),
                    fills=journal.fills(),
                    positions=journal.last_positions(),
                )
                return False
            fake.advance()
            time.sleep(0.02)  # the next bar takes a moment to close
            return True

        result = session_mod.run_session(cfg, venue, journal, wait=wait, stop=threading.Event())
    life = Recorded.last
    outcome = life.scheduler.last_result
    assert life.scheduler.runs == 1 and life.scheduler.last_error is None
    assert outcome.promoted, outcome.decision.reason
    assert result.bars == LIVE

    # Bars kept coming while the retrain ran, each processed about as fast as the others.
    gaps = np.diff([t for t, _ in steps])
    busy = [g for g, (_, running) in zip(gaps, steps[1:], strict=True) if running]
    idle = [g for g, (_, running) in zip(gaps, steps[1:], strict=True) if not running]
    assert busy, "the retrain finished before a bar went by"
    assert max(busy) < max(1.0, 5 * float(np.median(idle))), (max(busy), float(np.median(idle)))

    # The promoted champion traded from one bar on; every later signal and order says so.
    new = f"life-session/v{outcome.versions['challenger']}"
    sig = journal.signals().sort_values("timestamp")
    versions = sig.drop_duplicates("timestamp")["model_version"].tolist()
    k = versions.index(new)
    assert versions[0].startswith("trained-") and set(versions[:k]) == {versions[0]} and set(versions[k:]) == {new}
    ((switch_bar, switched_to),) = life.slot.switches
    assert switched_to == new and sig.drop_duplicates("timestamp")["timestamp"].iloc[k] == switch_bar
    after = [o for o in journal.orders() if o.bar_time is not None and o.bar_time >= switch_bar]
    assert all(o.model_version == new for o in after if o.parent_id is None)

    # /metrics scraped between the last two bars equals the journal at that moment.
    m = scraped["metrics"]
    statuses = {}
    for o in scraped["orders"]:
        statuses[o.status] = statuses.get(o.status, 0) + 1
    by_status = {k[1][0][1]: v for k, v in m.items() if k[0] == "mp_orders"}
    assert by_status == {**dict.fromkeys(OPEN + FINAL, 0), **statuses}  # every status exported, 0 if unused
    assert m[("mp_fills_total", ())] == len(scraped["fills"])
    assert m[("mp_equity", ())] == pytest.approx(scraped["equity"]["equity"].iloc[-1])
    assert m[("mp_cash", ())] == pytest.approx(scraped["equity"]["cash"].iloc[-1])
    for sym in SYMBOLS:
        assert m[("mp_position_qty", (("symbol", sym),))] == scraped["positions"].get(sym, 0.0)
    assert m[("mp_model_info", (("name", "life-session"), ("role", "live"), ("version", new)))] == 1
    assert m[("mp_last_retrain_promoted", ())] == 1 and m[("mp_bars_total", ())] == LIVE
    assert m[("mp_api_latency_seconds_count", (("endpoint", "get_bars"),))] > 0
    assert m[("mp_bar_to_order_latency_seconds_count", ())] >= 1

    # The model trained at start-up is an MLflow training run of its own (not a registered version).
    from bot.models.registry import ModelRegistry

    client = ModelRegistry.for_config(cfg).client
    exp = client.get_experiment_by_name("life-session")
    (startup,) = client.search_runs([exp.experiment_id], "tags.source = 'live-startup'")
    assert startup.data.tags["model_version"] == versions[0] and startup.data.tags["kind"] == "train"
    assert pd.Timestamp(startup.data.tags["label_end"]) < sig["timestamp"].min()
    assert startup.data.params["features"] == '["ret_1", "ret_5", "rsi_14"]'
    assert "model/manifest.json" in {a.path for a in client.list_artifacts(startup.info.run_id, "model")}
