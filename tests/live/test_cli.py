"""run_live.py from the command line: bad input exits with one line, a signal ends the session
cleanly (open orders as live.on_shutdown says), the README's offline command runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

import run_live
from bot.live.journal import Journal
from tests.fakes.alpaca import FakeAlpaca
from tests.fakes.bars import random_bars
from tests.live.driver import ROOT, SYMBOLS, WARMUP, Driver, write_config

NO_KEYS = {k: v for k, v in os.environ.items() if not k.startswith(("ALPACA_", "CCXT_"))}


@pytest.fixture(autouse=True)
def restore_process_state():
    """run_live.main sets signal handlers: put them back after an in-process run (loguru: conftest)."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def run(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "run_live.py", *args],
        cwd=ROOT,
        env=env or NO_KEYS,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--config", "config/live/replay_sample.yaml", "--set", "live.pol_seconds=1"],
            "config error: live.pol_seconds: unknown key (did you mean 'poll_seconds'?)",
        ),
        (
            ["--config", "config/live/alpaca_paper.yaml"],
            "config error: ALPACA_API_KEY: environment variable is not set (export it before starting)",
        ),
        (
            ["--config", "config/live/binance_testnet.yaml"],
            "config error: CCXT_API_KEY: environment variable is not set (export it before starting)",
        ),
        (
            ["--config", "config/live/alpaca_paper.yaml", "--set", "risk.trailing_stop=0.05"],
            "config error: risk.trailing_stop: broker.kind alpaca cannot attach a trailing stop to an entry; "
            "remove it, use risk.stop_loss, or trade on broker.kind paper",
        ),
        (["--config", "config/live/missing.yaml"], "config error: config/live/missing.yaml: config file not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, line, monkeypatch, capsys) -> None:
    for key in [k for k in os.environ if k.startswith(("ALPACA_", "CCXT_"))]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(ROOT)
    assert run_live.main(args) == 2
    assert capsys.readouterr().err.strip() == line


def test_authentication_failure_is_one_line_and_exit_4(tmp_path) -> None:
    bars = {s: random_bars(20, freq="1h", seed=i) for i, s in enumerate(SYMBOLS)}
    with FakeAlpaca(bars, timeframe="1Hour", warmup=WARMUP) as fake:
        env = dict(NO_KEYS, ALPACA_API_KEY=fake.key, ALPACA_SECRET_KEY="wrong-secret")
        r = run("--config", str(write_config(tmp_path, fake.base_url)), env=env)
    assert r.returncode == 4
    [line] = r.stderr.strip().splitlines()
    # the first call is the start-up check of the assets (check_tradable)
    assert line.startswith("venue error: alpaca asset: HTTP 401") and "wrong-secret" not in line


def test_sigterm_ends_cleanly_and_cancels_open_orders(tmp_path) -> None:
    bars = {s: random_bars(80, start="2024-05-01", freq="1h", vol=0.02, seed=21 + i) for i, s in enumerate(SYMBOLS)}
    with FakeAlpaca(bars, timeframe="1Hour", warmup=WARMUP) as fake:
        journal = Journal(f"sqlite:///{tmp_path / 'journal.db'}")
        driver = Driver(fake, write_config(tmp_path, fake.base_url, on_shutdown="cancel"), journal)
        proc = driver.start()
        driver.drive(proc, lambda: bool(journal.get_state("armed_brackets")))  # exits are resting
        assert any(o.is_open for o in fake.orders())
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err[-2000:]
        assert "SIGTERM: finishing the current bar, then stopping" in err
        assert "open orders cancelled (live.on_shutdown: cancel)" in err
        assert out.startswith("session 1 (restart, broker.kind alpaca)")
        assert not any(o.is_open for o in fake.orders())
        assert journal.sessions()[-1]["status"] == "stopped"
        held = {s: fake.engine.position(s) for s in SYMBOLS if fake.engine.position(s)}
        assert journal.last_positions() == pytest.approx(held)
        assert not [r for r in journal.orders() if r.status == "pending"]
        journal.close()


def test_readme_offline_replay_command(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(ROOT)
    code = run_live.main(
        [
            "--config",
            "config/live/replay_sample.yaml",
            "--max-bars",
            "5",
            "-q",
            "--set",
            f"live.state_db=sqlite:///{tmp_path / 'r.db'}",
            "--set",
            "model.type=logistic",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "5 bars traded" in out and "broker.kind paper" in out


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_second_live_session_on_one_journal_is_one_line_and_exit_2(
    backend, tmp_path, request, monkeypatch, capsys
) -> None:
    from bot.errors import without_credentials
    from bot.live.paper_venue import STATE_KEY

    url = f"sqlite:///{tmp_path / 'r.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    running = Journal(url)
    running.lock("replay-sample")  # the first session (this process stands in for it)
    monkeypatch.chdir(ROOT)
    code = run_live.main(
        [
            "--config",
            "config/live/replay_sample.yaml",
            "--max-bars",
            "1",
            "-q",
            "--set",
            f"live.state_db={url}",
            "--set",
            "model.type=logistic",
        ]
    )
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        f"config error: live.state_db: journal {without_credentials(url)} is in use by another live session "
        f"for config 'replay-sample' (pid {os.getpid()})"
    )
    assert running.sessions() == [] and running.get_state(STATE_KEY) is None  # nothing written
    running.close()


def test_a_journal_written_by_newer_code_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys) -> None:
    from bot.live.journal import SCHEMA_VERSION
    from tests.live.test_journal import raw_sql

    url = f"sqlite:///{tmp_path / 'r.db'}"
    Journal(url).close()
    raw_sql(url, f"UPDATE meta SET value = '{SCHEMA_VERSION + 1}' WHERE key = 'schema_version'")
    monkeypatch.chdir(ROOT)
    code = run_live.main(
        ["--config", "config/live/replay_sample.yaml", "--max-bars", "1", "-q", "--set", f"live.state_db={url}"]
    )
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        f"config error: live.state_db: the journal at {url} has schema version {SCHEMA_VERSION + 1}, "
        f"newer than this code's {SCHEMA_VERSION}: upgrade Market Predictor, or use another journal"
    )
