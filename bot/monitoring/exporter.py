"""Prometheus exporter of a LiveState on loopback: /metrics, /health, /status.

Metrics are produced at scrape time by a custom collector on a private registry (no global
state, several sessions per process are fine). Every name starts with ``mp_``; the Grafana
dashboard in ``dashboards/grafana.json`` plots them. ``/health`` answers 200 while the session is
running and (with ``monitoring.stale_after``) has processed a bar recently, 503 otherwise.
``/status`` is JSON: positions, open orders, last signal per symbol, model versions, retrain,
drift and kill-switch state.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bot.monitoring.state import LiveState

NAN = float("nan")


def _gauge(name: str, doc: str, value, labels: dict | None = None) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc, labels=list(labels or {}))
    if value is not None:
        g.add_metric(list((labels or {}).values()), float(value))
    return g


def _hist(name: str, doc: str, hists: dict, label: str | None) -> HistogramMetricFamily:
    h = HistogramMetricFamily(name, doc, labels=[label] if label else [])
    for key, hist in hists.items():
        h.add_metric([key] if label else [], buckets=hist.buckets(), sum_value=hist.total)
    return h


class StateCollector:
    """Turn a LiveState snapshot into Prometheus metric families."""

    def __init__(self, state: LiveState):
        self.state = state

    def collect(self):
        s = self.state.snapshot()
        yield from self._account(s)
        yield from self._orders(s)
        yield from self._models(s)
        yield from self._drift(s)
        yield _gauge("mp_kill_switch", "1 while the kill switch halts new entries", int(s["kill_switch"]))
        yield _gauge("mp_running", "1 while the session runs", int(s["running"]))
        yield _gauge("mp_last_bar_timestamp_seconds", "bar time of the last processed bar", s.get("last_bar_epoch"))
        yield _gauge("mp_last_bar_processed_seconds", "wall time the last bar was processed", s.get("last_bar_wall"))
        bars = CounterMetricFamily("mp_bars", "bars processed")
        bars.add_metric([], s["bars"])
        yield bars

    def _account(self, s: dict):
        yield _gauge("mp_equity", "account equity marked at the last close", s["equity"])
        yield _gauge("mp_cash", "account cash", s["cash"])
        qty = GaugeMetricFamily("mp_position_qty", "position quantity per symbol", labels=["symbol"])
        value = GaugeMetricFamily("mp_position_value", "position market value per symbol", labels=["symbol"])
        expo = GaugeMetricFamily("mp_position_exposure", "position value / equity per symbol", labels=["symbol"])
        gross = 0.0
        for sym, p in sorted(s["positions"].items()):
            qty.add_metric([sym], p["qty"])
            value.add_metric([sym], p["value"])
            if s["equity"]:
                expo.add_metric([sym], p["value"] / s["equity"])
                gross += abs(p["value"]) / s["equity"]
        yield from (qty, value, expo)
        yield _gauge("mp_gross_exposure", "sum of |position value| / equity", gross if s["equity"] else None)

    def _orders(self, s: dict):
        orders = GaugeMetricFamily("mp_orders", "orders in the journal by status", labels=["status"])
        for status, n in sorted(s["orders_by_status"].items()):
            orders.add_metric([status], n)
        yield orders
        yield _gauge("mp_open_orders", "orders not yet final", len(s["open_orders"]))
        fills = CounterMetricFamily("mp_fills", "fills received")
        fills.add_metric([], s["fills"])
        yield fills
        errors = CounterMetricFamily("mp_errors", "errors by kind", labels=["kind"])
        for kind, n in sorted(s["errors"].items()):
            errors.add_metric([kind], n)
        yield errors
        shadow = CounterMetricFamily("mp_shadow_orders", "would-be orders of the shadow challenger (not sent)")
        shadow.add_metric([], s["shadow_orders"])
        yield shadow
        yield _hist("mp_api_latency_seconds", "venue API call latency", s["api_latency"], "endpoint")
        yield _hist("mp_bar_to_order_latency_seconds", "bar close known -> order sent", {"": s["bar_to_order"]}, None)

    def _models(self, s: dict):
        info = GaugeMetricFamily(
            "mp_model_info", "model version per role (value 1)", labels=["role", "name", "version"]
        )
        number = GaugeMetricFamily(
            "mp_model_version",
            labels=["role"],
            documentation="numeric registry version per role (0: no registry version, e.g. trained at start-up)",
        )
        for role, m in sorted(s["models"].items()):
            info.add_metric([role, m["name"] or "", m["version"] or ""], 1)
            if m["version"] is not None:
                number.add_metric([role], registry_number(m["version"]))
        yield from (info, number)
        r = s["retrain"]  # before the first retrain: NaN (a series, but no value to plot)
        yield _gauge(
            "mp_last_retrain_timestamp_seconds",
            "time of the last finished retrain (NaN: none yet)",
            r.get("epoch", NAN),
        )
        yield _gauge(
            "mp_last_retrain_promoted",
            "1 if the last retrain promoted its challenger (NaN: none yet)",
            int(r["outcome"] == "promoted") if "outcome" in r else NAN,
        )
        runs = CounterMetricFamily("mp_retrains", "finished retrains by outcome", labels=["outcome"])
        for outcome, n in sorted(r["count"].items()):
            runs.add_metric([outcome], n)
        yield runs

    def _drift(self, s: dict):
        d = s["drift"] or {}  # before the first check: no drift detected, scores NaN (not measured)
        psi = GaugeMetricFamily(
            "mp_drift_feature_psi", "PSI of each feature vs the training window", labels=["feature"]
        )
        ks = GaugeMetricFamily("mp_drift_feature_ks_pvalue", "KS p-value of each feature", labels=["feature"])
        scored = d.get("features", {})
        for feat in sorted(set(s["drift_features"]) | set(scored)):
            v = scored.get(feat, {})
            psi.add_metric([feat], _or_nan(v.get("psi")))
            ks.add_metric([feat], _or_nan(v.get("ks_pvalue")))
        yield from (psi, ks)
        dec = d.get("decision", {})
        yield _gauge("mp_drift_detected", "1 when the last drift check found drift", int(bool(d.get("drift"))))
        yield _gauge(
            "mp_drift_prediction_psi",
            "PSI of P(up) vs the reference (NaN: not measured)",
            _or_nan(d.get("prediction_psi")),
        )
        yield _gauge("mp_drift_position_scale", "position size multiplier in force", dec.get("position_scale", 1.0))
        yield _gauge("mp_drift_entries_halted", "1 while drift halts new entries", int(bool(dec.get("halt_entries"))))


def registry_number(version: str) -> int:
    """Return the registry version in a model label (``name/v3``, ``v3``, ``3`` -> 3), else 0."""
    v = str(version).rsplit("v", 1)[-1]
    return int(v) if v.isdigit() else 0


def _or_nan(value) -> float:
    return NAN if value is None else float(value)


def health(s: dict, now: float, stale_after: float | None) -> tuple[int, dict]:
    """Return (HTTP status, body) of /health for a state snapshot at wall time ``now``."""
    age = None if s.get("last_bar_wall") is None else now - s["last_bar_wall"]
    status = "ok"
    if not s["running"]:
        status = "stopped"
    elif stale_after is not None and (age is None or age > stale_after):
        status = "stale"
    body = {"status": status, "last_bar": s["last_bar"], "seconds_since_bar": age, "kill_switch": s["kill_switch"]}
    return (200 if status == "ok" else 503), body


def status(s: dict) -> dict:
    """Return the /status document for a state snapshot."""
    models = s["models"]
    return {
        "name": s["name"],
        "running": s["running"],
        "equity": s["equity"],
        "cash": s["cash"],
        "positions": {k: v for k, v in s["positions"].items() if v["qty"]},
        "open_orders": s["open_orders"],
        "last_signal": s["last_signal"],
        "champion_version": models.get("champion", {}).get("version"),
        "live_model_version": models.get("live", {}).get("version"),
        "challenger_version": models.get("challenger", {}).get("version"),
        "last_bar": s["last_bar"],
        "kill_switch": s["kill_switch"],
        "retrain": {k: v for k, v in s["retrain"].items() if k != "epoch"},
        "drift": None if not s["drift"] else {"drift": s["drift"]["drift"], "decision": s["drift"]["decision"]},
    }


class MetricsServer:
    """Serve /metrics, /health and /status for a LiveState on a loopback port, in a daemon thread."""

    def __init__(
        self,
        state: LiveState,
        host: str = "127.0.0.1",
        port: int = 9108,
        stale_after: float | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.state = state
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(StateCollector(state))
        self.stale_after = stale_after
        self.clock = clock
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @classmethod
    def from_config(cls, state: LiveState, cfg) -> MetricsServer:
        """Build from a ``monitoring`` config section."""
        return cls(state, cfg.host, cfg.port, cfg.stale_after)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = self._server.server_address[0]  # str for an AF_INET server; typed str | bytes too
        if isinstance(host, (bytes, bytearray)):
            host = host.decode()
        return f"http://{host}:{self.port}"

    def start(self) -> MetricsServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _handler(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, generate_latest(outer.registry), CONTENT_TYPE_LATEST)
                elif path == "/health":
                    code, body = health(outer.state.snapshot(), outer.clock(), outer.stale_after)
                    self._json(code, body)
                elif path == "/status":
                    self._json(200, status(outer.state.snapshot()))
                else:
                    self._json(404, {"error": "not found", "paths": ["/metrics", "/health", "/status"]})

            def _json(self, code: int, body: dict) -> None:
                self._send(code, (json.dumps(body, default=str) + "\n").encode(), "application/json")

            def _send(self, code: int, body: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler
