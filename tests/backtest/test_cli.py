"""run_backtest.py end to end: the quickstart, determinism, and one-line errors with exit codes.

The error tests call ``run_backtest.main`` in this process; one runs the script in a real process,
where the exit code and the absence of a traceback are the process's own.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pandas as pd
import pytest

import run_backtest
from tests.backtest.helpers import ROOT, run_cli

RUN_FILES = {"config.yaml", "metrics.json", "equity.csv", "trades.csv", "orders.csv", "signals.csv"}


@pytest.fixture(scope="module")
def quickstart_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("qs")
    outs = []
    for i in range(2):
        out = base / f"run{i}"
        res = run_cli("--config", "config/backtest/quickstart.yaml", "--out", str(out), "-q")
        assert res.returncode == 0, res.stderr
        outs.append((out, res))
    return outs


def test_quickstart_writes_a_complete_run_folder(quickstart_runs):
    out, res = quickstart_runs[0]
    assert RUN_FILES <= {p.name for p in out.iterdir()}
    assert "total_return" in res.stdout and "benchmark" in res.stdout
    m = json.loads((out / "metrics.json").read_text())
    for key in (
        "total_return",
        "cagr",
        "annual_volatility",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown",
        "win_rate",
        "profit_factor",
        "n_trades",
        "exposure",
        "final_value",
    ):
        assert key in m, key
    for key in ("total_return", "cagr", "annual_volatility", "sharpe", "sortino", "calmar", "max_drawdown"):
        assert key in m["benchmark"], key
    for key in ("accuracy", "roc_auc", "log_loss", "brier", "n_predictions", "baseline_accuracy"):
        assert key in m["ml"], key
    assert m["max_drawdown"] <= 0
    trades = pd.read_csv(out / "trades.csv")
    assert set(trades["exit_reason"]) <= {"signal", "stop_loss", "take_profit", "trailing_stop", "end"}
    # Open positions are marked at the last close, so final value = cash + sum of net trade P&L.
    assert math.isclose(m["final_value"], m["starting_cash"] + trades["pnl_net"].sum(), rel_tol=0, abs_tol=1e-6)
    equity = pd.read_csv(out / "equity.csv")
    assert list(equity.columns[:3]) == ["timestamp", "equity", "cash"]
    assert math.isclose(equity["equity"].iloc[-1], m["final_value"], abs_tol=1e-6)


def test_same_config_and_seed_give_identical_files(quickstart_runs):
    (a, _), (b, _) = quickstart_runs
    for name in ("equity.csv", "trades.csv", "orders.csv", "signals.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    ma, mb = json.loads((a / "metrics.json").read_text()), json.loads((b / "metrics.json").read_text())
    ma.pop("code_version"), mb.pop("code_version")  # a commit landing between the runs changes only this
    assert ma == mb


def test_first_training_window_produces_no_signal(quickstart_runs):
    out, _ = quickstart_runs[0]
    signals = pd.read_csv(out / "signals.csv")
    equity = pd.read_csv(out / "equity.csv")
    first_signal = signals["timestamp"].min()
    assert first_signal == equity["timestamp"].iloc[504]  # validation.train = 504 bars
    orders = pd.read_csv(out / "orders.csv")
    assert orders["created"].min() >= first_signal


@pytest.fixture
def in_process(monkeypatch, capsys):
    """Return a runner of ``run_backtest.main`` in this process, shaped like ``run_cli``'s result."""
    monkeypatch.chdir(ROOT)

    def run(*args: str) -> SimpleNamespace:
        code = run_backtest.main(list(args))
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)

    return run


def _one_line_error(res, code: int, prefix: str) -> str:
    assert res.returncode == code, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    line = res.stderr.strip().splitlines()[-1]
    assert line.startswith(prefix), res.stderr
    return line


def test_unknown_key_is_exit_2(tmp_path):
    """The one error test in a real process: its exit code, and no traceback on its stderr."""
    out = tmp_path / "run"
    res = run_cli("--config", "config/backtest/quickstart.yaml", "--set", "risk.stop_los=0.1", "--out", str(out))
    assert (
        _one_line_error(res, 2, "config error: ")
        == "config error: risk.stop_los: unknown key (did you mean 'stop_loss'?)"
    )
    assert not out.exists()


def test_missing_config_file_is_exit_2(tmp_path, in_process):
    res = in_process("--config", str(tmp_path / "missing.yaml"))
    _one_line_error(res, 2, f"config error: {tmp_path / 'missing.yaml'}: config file not found")


def test_unknown_csv_symbol_is_exit_2(tmp_path, in_process):
    (tmp_path / "AAA.csv").write_text("date,open,high,low,close,volume\n2020-01-02,1,1,1,1,1\n")
    res = in_process(
        "--config",
        "config/backtest/sma_cross.yaml",
        "--set",
        f"data.path={tmp_path}",
        "--set",
        "data.symbols=[ZZZ]",
        "--out",
        str(tmp_path / "run"),
    )
    _one_line_error(res, 2, "config error: data.symbols: unknown symbol 'ZZZ'")


def _write_csv(path, rows: int, bad_row: int | None = None):
    lines = ["date,open,high,low,close,volume"]
    days = pd.bdate_range("2020-01-01", periods=rows)
    for i, d in enumerate(days):
        hi, lo = (90, 110) if i == bad_row else (110, 90)
        lines.append(f"{d.date()},100,{hi},{lo},{100 + (i % 7)},1000")
    path.write_text("\n".join(lines) + "\n")


def test_bad_bar_is_exit_3_naming_file_and_line(tmp_path, in_process):
    _write_csv(tmp_path / "AAA.csv", 50, bad_row=9)
    out = tmp_path / "run"
    res = in_process(
        "--config",
        "config/backtest/sma_cross.yaml",
        "--set",
        f"data.path={tmp_path}",
        "--set",
        "data.symbols=[AAA]",
        "--set",
        "data.start=null",
        "--set",
        "data.end=null",
        "--out",
        str(out),
    )
    line = _one_line_error(res, 3, f"data error: {tmp_path / 'AAA.csv'}:11:")
    assert "high" in line and "low" in line
    assert not out.exists()


def test_too_few_bars_for_a_training_window_is_exit_3(tmp_path, in_process):
    _write_csv(tmp_path / "AAA.csv", 100)
    out = tmp_path / "run"
    res = in_process(
        "--config",
        "config/backtest/ml_daily.yaml",
        "--set",
        f"data.path={tmp_path}",
        "--set",
        "data.symbols=[AAA]",
        "--set",
        "data.start=null",
        "--set",
        "data.end=null",
        "--out",
        str(out),
    )
    line = _one_line_error(res, 3, "data error: ")
    assert "100 bars" in line and "needs" in line
    assert not out.exists()


def test_out_that_is_not_a_run_folder_is_refused(tmp_path, in_process):
    (tmp_path / "keep.txt").write_text("precious")
    res = in_process("--config", "config/backtest/quickstart.yaml", "--out", str(tmp_path))
    _one_line_error(res, 2, "config error: --out: ")
    assert (tmp_path / "keep.txt").read_text() == "precious"
