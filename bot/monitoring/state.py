"""The live session's observable state: what /metrics, /health and /status report.

The session (or anything else) updates a ``LiveState`` from its own thread; the exporter reads a
consistent ``snapshot()`` at scrape time. Every method takes the lock, copies plain values in, and
returns quickly: updating the state must never slow the trading loop. ``update_from_journal``
fills the trading part (equity, cash, positions, orders by status, fills, open orders, last
signals) from the live session's journal, so the metrics are exactly what the journal says.
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
RETRAIN_OUTCOMES = ("promoted", "rejected", "failed")  # mp_retrains_total{outcome}, each from 0


@dataclass
class Histogram:
    """Cumulative-bucket histogram with Prometheus semantics (``le`` upper bounds)."""

    bounds: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    n: int = 0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * len(self.bounds)

    def observe(self, value: float) -> None:
        for i, b in enumerate(self.bounds):
            if value <= b:
                self.counts[i] += 1
        self.total += value
        self.n += 1

    def buckets(self) -> list[tuple[str, int]]:
        return [(repr(float(b)), c) for b, c in zip(self.bounds, self.counts, strict=True)] + [("+Inf", self.n)]


def _iso(ts: Any) -> str | None:
    return None if ts is None else (ts.isoformat() if hasattr(ts, "isoformat") else str(ts))


def _epoch(ts: Any) -> float | None:
    if ts is None:
        return None
    if isinstance(ts, int | float):
        return float(ts)
    import pandas as pd

    t = pd.Timestamp(ts)
    t = t.tz_localize("UTC") if t.tzinfo is None else t
    return t.timestamp()


class LiveState:
    """Thread-safe state of one live session, fed by the session and read by the exporter."""

    def __init__(self, name: str = "", symbols: list[str] | None = None):
        self._lock = threading.Lock()
        self._s: dict[str, Any] = {
            "name": name,
            "running": True,
            "equity": None,
            "cash": None,
            "positions": {s: {"qty": 0.0, "price": None, "value": 0.0} for s in symbols or []},
            "orders_by_status": {},
            "open_orders": [],
            "fills": 0,
            "errors": {},
            "last_signal": {},
            "api_latency": {},
            "bar_to_order": Histogram(),
            "models": {},
            "retrain": {"count": dict.fromkeys(RETRAIN_OUTCOMES, 0)},
            "drift": None,
            "drift_features": [],
            "kill_switch": False,
            "last_bar": None,
            "last_bar_wall": None,
            "bars": 0,
            "shadow_orders": 0,
            "order_statuses": [],
        }

    # ----------------------------------------------------------------- writers

    def _set(self, **values: Any) -> None:
        with self._lock:
            self._s.update(values)

    def expect_errors(self, kinds: Iterable[str]) -> None:
        """Export ``mp_errors_total{kind}`` from 0 for every kind the caller can count."""
        with self._lock:
            for kind in kinds:
                self._s["errors"].setdefault(kind, 0)

    def expect_order_statuses(self, statuses: Iterable[str]) -> None:
        """Export ``mp_orders{status}`` for every journal status, 0 while no order has it."""
        with self._lock:
            self._s["order_statuses"] = list(dict.fromkeys([*self._s["order_statuses"], *statuses]))
            self._s["orders_by_status"] = {**dict.fromkeys(self._s["order_statuses"], 0), **self._s["orders_by_status"]}

    def expect_drift_features(self, features: Iterable[str]) -> None:
        """Name the features the live model's drift checks score (exported as NaN until scored)."""
        self._set(drift_features=list(features))

    def set_account(self, equity: float, cash: float) -> None:
        """Record equity and cash (marked at the latest close)."""
        self._set(equity=float(equity), cash=float(cash))

    def set_positions(self, positions: dict[str, float], prices: dict[str, float] | None = None) -> None:
        """Record quantities per symbol (and prices to value them); symbols not given become flat."""
        prices = prices or {}
        with self._lock:
            book = {s: {"qty": 0.0, "price": p["price"], "value": 0.0} for s, p in self._s["positions"].items()}
            for sym, qty in positions.items():
                price = prices.get(sym, book.get(sym, {}).get("price"))
                book[sym] = {"qty": float(qty), "price": price, "value": float(qty) * price if price else 0.0}
            self._s["positions"] = book

    def set_orders(self, by_status: dict[str, int], open_orders: list[dict] | None = None) -> None:
        """Record order counts by status and (optionally) the open orders."""
        with self._lock:
            zeros = dict.fromkeys(self._s["order_statuses"], 0)
            self._s["orders_by_status"] = {**zeros, **{k: int(v) for k, v in by_status.items()}}
            if open_orders is not None:
                self._s["open_orders"] = [dict(o) for o in open_orders]

    def set_fills(self, count: int) -> None:
        self._set(fills=int(count))

    def add_fills(self, n: int = 1) -> None:
        with self._lock:
            self._s["fills"] += n

    def add_error(self, kind: str) -> None:
        """Count one error of ``kind`` (``bot.monitoring.instrument.ERROR_KINDS``)."""
        with self._lock:
            self._s["errors"][kind] = self._s["errors"].get(kind, 0) + 1

    def observe_api_latency(self, endpoint: str, seconds: float) -> None:
        with self._lock:
            self._s["api_latency"].setdefault(endpoint, Histogram()).observe(float(seconds))

    def observe_bar_to_order(self, seconds: float) -> None:
        """Record the time from a bar's close becoming known to its order being sent."""
        with self._lock:
            self._s["bar_to_order"].observe(float(seconds))

    def set_model(self, role: str, version: str | int | None, name: str = "") -> None:
        """Record the model version in a role (``live`` = trading now, ``champion``, ``challenger``)."""
        with self._lock:
            self._s["models"][role] = {"version": None if version is None else str(version), "name": name}

    def set_retrain(self, when: Any, outcome: str, detail: dict | None = None) -> None:
        """Record a finished retrain: its time and outcome (promoted, rejected, failed)."""
        if outcome not in RETRAIN_OUTCOMES:
            raise ValueError(f"retrain outcome {outcome!r} is not one of {RETRAIN_OUTCOMES}")
        with self._lock:
            r = self._s["retrain"]
            r.update(time=_iso(when), epoch=_epoch(when), outcome=outcome, detail=detail or {})
            r["count"][outcome] = r["count"].get(outcome, 0) + 1

    def set_drift(self, report: dict | None, decision: dict | None) -> None:
        """Record the latest drift report's scores and the decision in force."""
        if report is None:
            self._set(drift=None)
            return
        feats = {
            k: {"psi": v.get("psi"), "ks_pvalue": v.get("ks_pvalue"), "drifted": v.get("drifted")}
            for k, v in report.get("features", {}).items()
        }
        pred = report.get("prediction", {})
        self._set(
            drift={
                "drift": bool(report.get("drift")),
                "features": feats,
                "prediction_psi": pred.get("psi") if pred.get("available", True) else None,
                "performance_decay": bool(report.get("performance", {}).get("drift")),
                "decision": dict(decision or {}),
            }
        )

    def set_kill_switch(self, halted: bool) -> None:
        self._set(kill_switch=bool(halted))

    def set_last_signal(self, symbol: str, bar_time: Any, values: dict, model_version: str | None = None) -> None:
        with self._lock:
            self._s["last_signal"][symbol] = {
                "time": _iso(bar_time),
                "model_version": model_version,
                **{k: _clean(v) for k, v in values.items()},
            }

    def mark_bar(self, bar_time: Any, wall_time: float) -> None:
        """Record that the bar stamped ``bar_time`` was processed at ``wall_time`` (epoch seconds)."""
        with self._lock:
            self._s.update(last_bar=_iso(bar_time), last_bar_epoch=_epoch(bar_time), last_bar_wall=float(wall_time))
            self._s["bars"] += 1

    def add_shadow_orders(self, n: int = 1) -> None:
        with self._lock:
            self._s["shadow_orders"] += n

    def set_running(self, running: bool) -> None:
        self._set(running=bool(running))

    # ----------------------------------------------------------------- readers

    def snapshot(self) -> dict:
        """Return a deep copy of the state (safe to read without the lock)."""
        with self._lock:
            return copy.deepcopy(self._s)

    def update_from_journal(self, journal, prices: dict[str, float] | None = None, account: bool = True) -> None:
        """Fill equity, cash (unless ``account`` is False), positions, orders by status, fills, open orders
        and last signals from a journal."""
        if account:
            marks = journal.equity()
            if len(marks):
                self.set_account(float(marks["equity"].iloc[-1]), float(marks["cash"].iloc[-1]))
        positions = journal.last_positions()
        if positions is not None:
            self.set_positions(positions, prices)
        orders = journal.orders()
        counts: dict[str, int] = {}
        for o in orders:
            counts[o.status] = counts.get(o.status, 0) + 1
        self.set_orders(counts, [_order_dict(o) for o in orders if o.is_open])
        self.set_fills(len(journal.fills()))
        signals = journal.signals()
        if len(signals):
            last = signals.sort_values("timestamp").groupby("symbol").tail(1)
            for row in last.to_dict("records"):
                values = {k: v for k, v in row.items() if k not in ("timestamp", "symbol", "model_version")}
                self.set_last_signal(row["symbol"], row["timestamp"], values, row.get("model_version"))


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _order_dict(o) -> dict:
    return {
        "client_id": o.client_id,
        "symbol": o.symbol,
        "side": o.side,
        "qty": o.qty,
        "type": o.type,
        "status": o.status,
        "intent": o.intent,
        "filled_qty": o.filled_qty,
        "bar_time": _iso(o.bar_time),
        "model_version": o.model_version,
        "limit_price": o.limit_price,
        "stop_price": o.stop_price,
    }
