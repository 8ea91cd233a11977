"""A password in any URL of a config never leaves the process: not on stdout/stderr, in run folders,
MLflow (params, tags, artifacts) or the journal.

One backtest and one paper live session run as subprocesses with a unique password in every URL
the config has: the journal (``live.state_db``) and the backtest's MLflow store
(``registry.tracking_uri``) on a real PostgreSQL (pgserver, trust auth: the password is accepted and
ignored), the live session's MLflow server on a closed loopback port (its start-up model cannot be
logged: a warning), the venue URLs unused by a paper session. Then every byte they left behind is
searched for the password.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.errors import ConfigError
from bot.models.tracking import log_backtest_run
from tests.conftest import ROOT

PASSWORD = "pw-S3cr3t-XYZ"
MASKED = "postgresql+psycopg://***@/"
FAST = {"data": {"start": "2017-01-01"}, "validation": {"train": 252}, "model": {"type": "logistic"}}


def _with_password(server, db: str) -> str:
    server.psql(f"DROP DATABASE IF EXISTS {db};")
    server.psql(f"CREATE DATABASE {db};")
    uri = server.get_uri(db).replace("postgresql://", "postgresql+psycopg://", 1)  # ...//postgres:@/db?host=
    user, rest = uri.split("@", 1)
    return f"{user.rstrip(':')}:{PASSWORD}@{rest}"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp_path: Path, base: str, urls: dict) -> Path:
    raw = yaml.safe_load((ROOT / base).read_text())
    for key, value in FAST.items():
        raw[key] = {**raw.get(key, {}), **value}
    raw["registry"] = {"tracking_uri": urls["mlflow"], "artifact_location": str(tmp_path / "artifacts")}
    raw["live"] = {**raw.get("live", {}), "state_db": urls["journal"]}
    broker = raw.setdefault("broker", {})
    broker["alpaca"] = {
        "trading_url": f"http://key:{PASSWORD}@127.0.0.1:1",
        "data_url": f"https://key:{PASSWORD}@127.0.0.1:1/v2",
    }
    broker["ccxt"] = {"api_url": f"http://key:{PASSWORD}@127.0.0.1:1/api"}
    path = tmp_path / "secret" / Path(base).name
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(raw))
    return path


def _run(script: str, *args: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALPACA_", "CCXT_"))}
    env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"  # the closed port fails at once, not after minutes of backoff
    r = subprocess.run(
        [sys.executable, str(ROOT / script), *args, "-v"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout + r.stderr


def _database_text(url: str) -> str:
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return "\n".join(
                repr(conn.execute(text(f'SELECT * FROM "{t}"')).all()) for t in inspect(conn).get_table_names()
            )
    finally:
        engine.dispose()


def _files_with(root: Path, needle: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_a_password_in_any_url_appears_nowhere(tmp_path, postgres_server, monkeypatch):
    urls = {
        "mlflow": _with_password(postgres_server, "secret_mlflow"),
        "journal": _with_password(postgres_server, "secret_journal"),
    }
    work = tmp_path / "work"
    work.mkdir()
    backtest = _config(tmp_path, "config/backtest/quickstart.yaml", urls)
    down = f"http://trader:{PASSWORD}@127.0.0.1:{closed_port()}"
    live = _config(tmp_path, "config/live/replay_sample.yaml", {**urls, "mlflow": down})
    out = _run("run_backtest.py", "--config", str(backtest), "--out", str(work / "run"), cwd=work)
    out += _run("run_live.py", "--config", str(live), "--max-bars", "3", "--report", str(work / "report"), cwd=work)

    assert "logged to MLflow experiment 'quickstart'" in out  # the backtest used the store
    assert "registry.tracking_uri: could not log the start-up model to MLflow" in out  # the live one failed
    assert f"http://***@127.0.0.1:{down.rsplit(':', 1)[1]}" in out
    assert f"journal: {MASKED}secret_journal" in out
    assert PASSWORD not in out
    assert _files_with(work, PASSWORD.encode()) == []  # run folder, live report, state files
    assert _files_with(tmp_path / "artifacts", PASSWORD.encode()) == []  # MLflow artifacts
    for name in ("config.yaml", "tearsheet.html"):
        assert f"{MASKED}secret_mlflow" in (work / "run" / name).read_text()
        assert f"{MASKED}secret_journal" in (work / "report" / name).read_text()
        assert "http://***@127.0.0.1:" in (work / "report" / name).read_text()
    assert f"{MASKED}secret_journal" in (work / "report" / "metrics.json").read_text()
    # logging the folder again later: its config.yaml has no password, so the URL comes from the environment
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(ConfigError, match="registry.tracking_uri: the run folder's config.yaml masks the password"):
        log_backtest_run(work / "run")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", urls["mlflow"])
    log_backtest_run(work / "run")
    mlflow = _database_text(urls["mlflow"])
    assert f"{MASKED}secret_mlflow" in mlflow and "http://***@127.0.0.1:1" in mlflow  # params were logged
    assert PASSWORD not in mlflow
    assert PASSWORD not in _database_text(urls["journal"])
    assert _files_with(Path(postgres_server.pgdata), PASSWORD.encode()) == []  # tables, WAL, server log


def test_logs_tracebacks_error_lines_and_alerts_mask_url_passwords(capsys):
    import json

    from loguru import logger

    from bot.alerts import Alerter
    from bot.cli import run_cli, setup_logging
    from bot.errors import ConfigError

    url = f"postgresql://trader:{PASSWORD}@db.internal/x"
    setup_logging(verbose=True)
    logger.info(f"connecting to {url}")
    try:
        raise ConnectionError(url)
    except ConnectionError:
        logger.exception("failed")  # the traceback shows variable values (loguru's diagnose)

    def bug() -> int:
        raise RuntimeError(f"cannot open {url}")

    def user_error() -> int:
        raise ConfigError("live.state_db", f"cannot open {url}")

    assert run_cli(bug) == 1 and run_cli(user_error) == 2
    posted = []
    Alerter("http://127.0.0.1:9/hook", post=lambda u, body, t: posted.append(body.decode()) or 200).send(
        "critical", f"store {url} down", url, where=url
    )
    err = capsys.readouterr().err
    assert PASSWORD not in err and "Traceback" in err and "config error: live.state_db: cannot open" in err
    assert err.count("postgresql://***@db.internal/x") >= 6
    (body,) = posted
    assert PASSWORD not in body and json.loads(body)
