"""Lifecycle test fixtures: loopback-only network guard, small configs, a pre-built MLflow store."""

from __future__ import annotations

import ipaddress
import shutil
import socket

import pytest
from threadpoolctl import threadpool_limits

from bot.configure import parse_config

_real_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None:
        try:
            ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise OSError(f"lifecycle tests may only connect to loopback, not {host!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _one_thread():
    """Keep BLAS/OpenMP to one thread: on a busy 2-core machine oversubscription makes fits 10x slower."""
    with threadpool_limits(1):
        yield


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    monkeypatch.delenv("MP_ALERT_WEBHOOK_URL", raising=False)


def make_config(tmp_path=None, **sections):
    """Return a small, fast ml_signal Config; ``sections`` replace top-level keys (dicts are merged)."""
    raw = {
        "name": "lifecycle-test",
        "seed": 3,
        "data": {"source": "sample", "symbols": ["AAA"]},
        "model": {"type": "logistic", "features": ["ret_1", "ret_5", "rsi_14"], "calibration": "none"},
        "validation": {"train": 300, "test": 100, "embargo": 2},
        "retrain": {"min_predictions": 50, "max_brier": 0.3, "schedule": None},
    }
    if tmp_path is not None:
        raw["registry"] = {
            "tracking_uri": f"sqlite:///{tmp_path}/mlflow.db",
            "artifact_location": str(tmp_path / "artifacts"),
        }
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return parse_config(raw)


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory):
    """Create an empty MLflow SQLite store once (its schema migration takes seconds) to copy per test."""
    from bot.models.tracking import tracking_client

    folder = tmp_path_factory.mktemp("mlflow-template")
    uri = f"sqlite:///{folder}/mlflow.db"
    tracking_client(uri)
    return folder / "mlflow.db"


@pytest.fixture
def store(tmp_path, mlflow_template):
    """Return a fresh, already-migrated MLflow store folder for one test."""
    shutil.copy(mlflow_template, tmp_path / "mlflow.db")
    return tmp_path
