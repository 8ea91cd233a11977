"""Prometheus exporter: scrape /metrics over loopback HTTP and compare with the state and the journal."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.monitoring.exporter import MetricsServer
from bot.monitoring.state import LiveState


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


def scrape(server: MetricsServer) -> dict[tuple, float]:
    """Return {(sample name, sorted labels): value} from /metrics."""
    code, ctype, text = _get(server.url + "/metrics")
    assert code == 200 and ctype.startswith("text/plain")
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _state() -> LiveState:
    st = LiveState("demo", ["AAA", "BBB"])
    st.set_account(101_000.0, 60_000.0)
    st.set_positions({"AAA": 100.0}, {"AAA": 250.0, "BBB": 10.0})
    st.set_orders({"filled": 3, "canceled": 1, "new": 1}, [{"client_id": "o-5", "symbol": "BBB"}])
    st.add_fills(3)
    st.add_error("transient")
    st.add_error("transient")
    st.add_error("rejected")
    st.observe_api_latency("submit_order", 0.03)
    st.observe_api_latency("submit_order", 0.2)
    st.observe_bar_to_order(0.7)
    st.set_model("champion", 4, "demo")
    st.set_model("live", "demo/v4", "demo")
    st.set_retrain(pd.Timestamp("2024-05-02T02:00:00Z"), "rejected", {"reason": "no better"})
    st.set_drift(
        {
            "drift": True,
            "features": {"ret_1": {"psi": 0.4, "ks_pvalue": 0.001, "drifted": True}},
            "prediction": {"available": True, "psi": 0.1},
        },
        {"action": "scale_down", "position_scale": 0.5, "halt_entries": False},
    )
    st.set_kill_switch(True)
    st.set_last_signal("AAA", pd.Timestamp("2024-05-01", tz="UTC"), {"prob_up": 0.61}, "demo/v4")
    st.mark_bar(pd.Timestamp("2024-05-01", tz="UTC"), 1000.0)
    return st


def test_metrics_match_the_state():
    with MetricsServer(_state(), port=0) as server:
        m = scrape(server)
    assert m[("mp_equity", ())] == 101_000.0 and m[("mp_cash", ())] == 60_000.0
    assert m[("mp_position_qty", (("symbol", "AAA"),))] == 100.0
    assert m[("mp_position_value", (("symbol", "AAA"),))] == 25_000.0
    assert m[("mp_position_exposure", (("symbol", "AAA"),))] == pytest.approx(25_000 / 101_000)
    assert m[("mp_position_qty", (("symbol", "BBB"),))] == 0.0
    assert m[("mp_orders", (("status", "filled"),))] == 3 and m[("mp_orders", (("status", "new"),))] == 1
    assert m[("mp_open_orders", ())] == 1 and m[("mp_fills_total", ())] == 3
    assert (
        m[("mp_errors_total", (("kind", "transient"),))] == 2 and m[("mp_errors_total", (("kind", "rejected"),))] == 1
    )
    assert m[("mp_api_latency_seconds_count", (("endpoint", "submit_order"),))] == 2
    assert m[("mp_api_latency_seconds_bucket", (("endpoint", "submit_order"), ("le", "0.05")))] == 1
    assert m[("mp_api_latency_seconds_sum", (("endpoint", "submit_order"),))] == pytest.approx(0.23)
    assert m[("mp_bar_to_order_latency_seconds_bucket", (("le", "1.0"),))] == 1
    assert m[("mp_model_info", (("name", "demo"), ("role", "live"), ("version", "demo/v4")))] == 1
    assert m[("mp_model_version", (("role", "champion"),))] == 4 and m[("mp_model_version", (("role", "live"),))] == 4
    assert m[("mp_last_retrain_timestamp_seconds", ())] == pd.Timestamp("2024-05-02T02:00:00Z").timestamp()
    assert m[("mp_last_retrain_promoted", ())] == 0 and m[("mp_retrains_total", (("outcome", "rejected"),))] == 1
    assert m[("mp_drift_feature_psi", (("feature", "ret_1"),))] == 0.4 and m[("mp_drift_detected", ())] == 1
    assert m[("mp_drift_position_scale", ())] == 0.5 and m[("mp_drift_prediction_psi", ())] == 0.1
    assert m[("mp_kill_switch", ())] == 1 and m[("mp_bars_total", ())] == 1


def test_health_and_status():
    now = [1010.0]
    state = _state()
    with MetricsServer(state, port=0, stale_after=60, clock=lambda: now[0]) as server:
        code, ctype, body = _get(server.url + "/health")
        assert code == 200 and ctype == "application/json"
        assert json.loads(body) == {
            "status": "ok",
            "last_bar": "2024-05-01T00:00:00+00:00",
            "seconds_since_bar": 10.0,
            "kill_switch": True,
        }
        now[0] = 1100.0
        assert _get(server.url + "/health")[0] == 503
        state.mark_bar(pd.Timestamp("2024-05-02", tz="UTC"), 1099.0)
        assert _get(server.url + "/health")[0] == 200
        state.set_running(False)
        code, _, body = _get(server.url + "/health")
        assert code == 503 and json.loads(body)["status"] == "stopped"
        doc = json.loads(_get(server.url + "/status")[2])
        assert _get(server.url + "/nope")[0] == 404
    assert doc["champion_version"] == "4" and doc["live_model_version"] == "demo/v4"
    assert doc["positions"] == {"AAA": {"qty": 100.0, "price": 250.0, "value": 25_000.0}}
    assert doc["open_orders"] == [{"client_id": "o-5", "symbol": "BBB"}]
    assert doc["last_signal"]["AAA"] == {
        "time": "2024-05-01T00:00:00+00:00",
        "model_version": "demo/v4",
        "prob_up": 0.61,
    }
    assert doc["drift"]["decision"]["action"] == "scale_down" and doc["retrain"]["outcome"] == "rejected"


def test_only_loopback_hosts_are_configurable():
    from bot.errors import ConfigError
    from tests.lifecycle.conftest import make_config

    with pytest.raises(ConfigError, match="monitoring.host: must be a loopback address"):
        make_config(monitoring={"host": "0.0.0.0"})
    assert make_config(monitoring={"host": "::1", "port": 0}).monitoring.host == "::1"


def test_metrics_match_the_live_journal(tmp_path):
    journal_mod = pytest.importorskip("bot.live.journal")
    from bot.venues.types import Fill

    j = journal_mod.Journal(f"sqlite:///{tmp_path}/journal.db")
    t0 = pd.Timestamp("2024-03-01", tz="UTC")
    for i, status in enumerate(["filled", "filled", "canceled", "new", "pending"]):
        j.record_order(
            journal_mod.OrderRow(
                client_id=f"o{i}",
                symbol="AAA" if i % 2 else "BBB",
                side="buy",
                qty=10.0,
                type="market",
                status=status,
                intent="enter",
                bar_time=t0,
                model_version="demo/v2",
                created=t0 + pd.Timedelta(i, "s"),
            )
        )
    for i in range(2):
        j.add_fill(Fill(f"o{i}", f"v{i}", f"t{i}", "AAA", "buy", 10.0, 100.0, 0.1, "USD", t0))
    j.record_equity(t0, 100_500.0, 98_000.0)
    j.record_equity(t0 + pd.Timedelta(days=1), 100_900.0, 98_000.0)
    j.snapshot_positions(t0 + pd.Timedelta(days=1), {"AAA": 20.0})
    j.record_signal(t0, "AAA", {"prob_up": 0.55, "payoff": 1.1}, "demo/v2")
    j.record_signal(t0 + pd.Timedelta(days=1), "AAA", {"prob_up": 0.61, "payoff": 1.2}, "demo/v2")
    state = LiveState("demo", ["AAA", "BBB"])
    state.update_from_journal(j, prices={"AAA": 145.0})
    with MetricsServer(state, port=0) as server:
        m = scrape(server)
        doc = json.loads(_get(server.url + "/status")[2])
    statuses = pd.Series([o.status for o in j.orders()]).value_counts().to_dict()
    assert {k[1][0][1]: v for k, v in m.items() if k[0] == "mp_orders"} == statuses
    assert m[("mp_fills_total", ())] == len(j.fills()) == 2
    assert m[("mp_equity", ())] == j.equity()["equity"].iloc[-1] == 100_900.0
    assert m[("mp_cash", ())] == j.equity()["cash"].iloc[-1]
    assert m[("mp_position_qty", (("symbol", "AAA"),))] == j.last_positions()["AAA"]
    assert m[("mp_open_orders", ())] == len(j.open_orders()) == 2
    assert sorted(o["client_id"] for o in doc["open_orders"]) == sorted(o.client_id for o in j.open_orders())
    assert doc["last_signal"]["AAA"]["prob_up"] == 0.61 and doc["last_signal"]["AAA"]["model_version"] == "demo/v2"
    j.close()


def test_grafana_dashboard_queries_exported_metrics(repo_root):
    import re

    dash = json.loads((repo_root / "dashboards" / "grafana.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    used = {m for e in exprs for m in re.findall(r"\bmp_[a-z_]+", e)}
    with MetricsServer(_state(), port=0) as server:
        exported = {name for name, _ in scrape(server)}
    assert used <= exported, used - exported
    families = {re.sub(r"_(bucket|count|sum|total)$", "", n) for n in exported}
    assert families - {re.sub(r"_(bucket|count|sum|total)$", "", n) for n in used} <= {
        "mp_bars",
        "mp_last_bar_timestamp_seconds",
    }
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) and dash["uid"] == "market-predictor-live"


def test_every_dashboard_series_exists_at_session_start(repo_root):
    """Before any error, retrain or drift check: zero counters per known label, NaN for what is unmeasured."""
    import math
    import re

    from bot.live.journal import FINAL, OPEN
    from bot.monitoring.instrument import ERROR_KINDS, InstrumentedVenue
    from bot.monitoring.state import RETRAIN_OUTCOMES

    state = LiveState("demo", ["AAA"])

    class Venue:
        def clock(self):
            return pd.Timestamp("2024-05-01", tz="UTC")

    InstrumentedVenue(Venue(), state).clock()  # the session wraps its venue and asks its clock first
    state.expect_order_statuses(OPEN + FINAL)
    state.set_model("live", "trained-0123abcd", "demo")  # trained at start-up: no registry number
    state.expect_drift_features(["ret_1", "rsi_14"])
    state.set_account(100_000.0, 100_000.0)
    state.mark_bar(pd.Timestamp("2024-05-01", tz="UTC"), 1000.0)
    with MetricsServer(state, port=0) as server:
        m = scrape(server)
    dash = json.loads((repo_root / "dashboards" / "grafana.json").read_text())
    used = {n for p in dash["panels"] for t in p.get("targets", []) for n in re.findall(r"\bmp_[a-z_]+", t["expr"])}
    assert used <= {name for name, _ in m}, used - {name for name, _ in m}
    assert {k[1][0][1]: v for k, v in m.items() if k[0] == "mp_errors_total"} == dict.fromkeys(ERROR_KINDS, 0)
    assert {k[1][0][1]: v for k, v in m.items() if k[0] == "mp_retrains_total"} == dict.fromkeys(RETRAIN_OUTCOMES, 0)
    assert {k[1][0][1]: v for k, v in m.items() if k[0] == "mp_orders"} == dict.fromkeys(OPEN + FINAL, 0)
    assert m[("mp_model_version", (("role", "live"),))] == 0 and m[("mp_drift_detected", ())] == 0
    unmeasured = [
        ("mp_last_retrain_timestamp_seconds", ()),
        ("mp_last_retrain_promoted", ()),
        ("mp_drift_prediction_psi", ()),
        ("mp_drift_feature_psi", (("feature", "ret_1"),)),
        ("mp_drift_feature_ks_pvalue", (("feature", "rsi_14"),)),
    ]
    assert all(math.isnan(m[k]) for k in unmeasured)
    state.set_drift(
        {
            "drift": False,
            "features": {"ret_1": {"psi": 0.02, "ks_pvalue": 0.4}},
            "prediction": {"available": False, "reason": "no model predictions"},
        },
        {},
    )
    state.set_retrain(pd.Timestamp("2024-05-02T02:00:00Z"), "failed")
    with MetricsServer(state, port=0) as server:
        m = scrape(server)
    assert m[("mp_drift_feature_psi", (("feature", "ret_1"),))] == 0.02
    assert math.isnan(m[("mp_drift_feature_psi", (("feature", "rsi_14"),))])  # not in the report: not measured
    assert math.isnan(m[("mp_drift_prediction_psi", ())])  # unavailable stays NaN, never a made-up 0
    assert m[("mp_last_retrain_promoted", ())] == 0 and m[("mp_retrains_total", (("outcome", "failed"),))] == 1
    with pytest.raises(ValueError, match="retrain outcome 'done'"):
        state.set_retrain(pd.Timestamp("2024-05-03T02:00:00Z"), "done")
