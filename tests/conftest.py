"""Shared fixtures: the repo root, the shared market data folder, and small configs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from loguru import logger

ROOT = Path(__file__).resolve().parents[1]


def market_data_dir() -> Path | None:
    """Return $MARKET_DATA_DIR, else ../shared/data next to the repo, if it exists."""
    env = os.environ.get("MARKET_DATA_DIR")
    path = Path(env) if env else ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


def _current_stderr(message: str) -> None:
    sys.stderr.write(message)


@pytest.fixture(autouse=True)
def fresh_log_sink():
    """Entry points run in-process bind loguru to the stderr of the test that ran them; pytest
    closes that stream afterwards, and a later log line (e.g. from a fake's background thread)
    would print "I/O operation on closed file". After each test, log to whatever stderr is current."""
    yield
    logger.remove()
    logger.add(_current_stderr)


@pytest.fixture(scope="session", autouse=True)
def _cache_root(tmp_path_factory) -> Path:
    """Point the prediction cache (bot/ml/cache.py, $MP_CACHE_DIR) at this session's own folder,
    even for module- and session-scoped fixtures: no test reads an entry from outside this run."""
    root = tmp_path_factory.mktemp("prediction-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MP_CACHE_DIR", str(root / "session"))
        yield root


@pytest.fixture(autouse=True)
def hermetic_prediction_cache(_cache_root, request, monkeypatch) -> Path:
    """Give each test a prediction cache folder of its own (created on first write), so no test
    reads another's entries."""
    import hashlib

    folder = _cache_root / hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]
    monkeypatch.setenv("MP_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def shared_data() -> Path:
    path = market_data_dir()
    if path is None:
        pytest.skip("shared market data not found (set MARKET_DATA_DIR)")
    return path


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A real PostgreSQL server (pgserver: bundled binaries, Unix socket only, no TCP); skip if not installed."""
    pgserver = pytest.importorskip("pgserver", reason="PostgreSQL tests need pgserver (pip install -e '.[dev]')")
    pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg")
    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    yield server
    server.cleanup()


@pytest.fixture
def postgres_url(postgres_server, request):
    """Return a SQLAlchemy URL of a fresh, empty PostgreSQL database for one test."""
    import re

    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[-50:]
    postgres_server.psql(f"DROP DATABASE IF EXISTS {name};")
    postgres_server.psql(f"CREATE DATABASE {name};")
    uri = postgres_server.get_uri(name)
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)
