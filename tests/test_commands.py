"""``market-predictor``: one command for every entry point, in-process (one real process at the end)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys

import pytest

import run_backtest
from bot import progress
from bot.main import COMMANDS, Command, available, main
from tests.conftest import ROOT

OPTIONAL = {"research optimize", "research sweep"}  # written by other branches; registered ahead
SHOWN = [c.name for c in COMMANDS if available(c)]
FAST_QUICKSTART = [
    "--config",
    "config/backtest/quickstart.yaml",
    "--set",
    "data.end=2016-12-31",
    "--set",
    "validation.train=126",
    "--set",
    "validation.test=63",
    "--set",
    "model.params={n_estimators: 20}",
    "--set",
    "model.calibration=none",
    "--set",
    "registry.log_backtests=false",
    "-q",
]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def in_root_with_signals_restored(monkeypatch):
    """Shipped configs are relative to the repo; ``live`` sets signal handlers: put them back."""
    monkeypatch.chdir(ROOT)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    progress.set_quiet(False)


def test_help_lists_every_subcommand_with_one_line(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: market-predictor <command> [options]")
    for c in COMMANDS:
        if c.name not in OPTIONAL:
            assert available(c), c.name
        listed = [line for line in out.splitlines() if line.split("  ")[1:2] == [c.name]]
        assert (len(listed) == 1 and listed[0].endswith(c.help)) == available(c), (c.name, out)


def test_the_issue_s_subcommands_are_all_there() -> None:
    names = {c.name for c in COMMANDS}
    assert {
        "backtest",
        "live",
        "data",
        "models",
        "retrain",
        "drift",
        "report",
        "research evaluate",
        "research tune",
        "research optimize",
        "research sweep",
        "features",
        "live report",
    } <= names


@pytest.mark.parametrize(
    "name", [*SHOWN, "data download", "data verify-hash", "models list", "features check", "report compare"]
)
def test_each_subcommand_shows_its_own_options(name, capsys) -> None:
    assert main([*name.split(), "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: market-predictor {name}"), out[:200]
    if name.split()[0] not in ("report", "features", "data", "models"):  # their own options
        assert "--config" in out and "--set" in out and "--quiet" in out


def test_a_group_lists_its_subcommands(capsys) -> None:
    assert main(["research", "--help"]) == 0
    out = capsys.readouterr().out
    assert "research evaluate" in out and "research tune" in out
    assert main(["research"]) == 2  # no subcommand: the same list, on stderr
    assert "research evaluate" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["bactest", "--config", "x.yaml"],
            "market-predictor: unknown command 'bactest' (did you mean 'backtest'?); "
            "'market-predictor --help' lists the commands",
        ),
        (
            ["frobnicate"],
            "market-predictor: unknown command 'frobnicate'; 'market-predictor --help' lists the commands",
        ),
        (
            ["research", "evalute"],
            "market-predictor: unknown command 'research evalute' (did you mean 'research evaluate'?); choose from ",
        ),
    ],
)
def test_an_unknown_subcommand_is_one_line_and_exit_2(argv, line, capsys) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and err.startswith(line), err


def test_a_missing_module_is_left_out_of_help_and_is_one_line_and_exit_2(capsys) -> None:
    ghosts = (
        Command("research ghost", "bot.research.ghost_not_written:main", "not there yet"),
        Command("phantom", "phantom_package_nowhere.cli:main", "not installed"),
    )
    commands = (*COMMANDS, *ghosts)
    assert main(["--help"], commands) == 0
    out = capsys.readouterr().out
    assert "ghost" not in out and "phantom" not in out and "research evaluate" in out
    assert main(["research", "ghost", "--config", "c.yaml"], commands) == 2
    assert capsys.readouterr().err == (
        "market-predictor: 'research ghost' is not available here (no module bot.research.ghost_not_written)\n"
    )
    assert main(["phantom", "--help"], commands) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["backtest"],
        ["live"],
        ["live", "report"],
        ["research", "evaluate"],
        ["research", "tune", "--trials", "1"],
        ["retrain", "--out", "OUT"],
        ["drift", "--reference", "2015-01-01:2015-12-31", "--current", "2016-01-01:2016-06-30", "--out", "OUT"],
        ["models", "list"],
    ],
)
def test_a_missing_config_is_the_same_line_and_exit_2_for_every_command(argv, tmp_path, capsys) -> None:
    missing = tmp_path / "missing.yaml"
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
    assert main([*argv, "--config", str(missing)]) == 2
    assert capsys.readouterr().err == f"config error: {missing}: config file not found\n"


def test_a_config_error_through_the_new_command_is_one_line_exit_2(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    code = main(
        ["backtest", "--config", "config/backtest/quickstart.yaml", "--set", "risk.stop_los=0.1", "--out", str(out)]
    )
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert err == "config error: risk.stop_los: unknown key (did you mean 'stop_loss'?)\n"


def test_backtest_writes_the_same_run_folder_as_run_backtest_py(tmp_path, capsys) -> None:
    new, old = tmp_path / "new" / "run", tmp_path / "old" / "run"  # the tear sheet names its folder
    assert main(["backtest", *FAST_QUICKSTART, "--out", str(new)]) == 0
    new_out = capsys.readouterr().out
    assert run_backtest.main([*FAST_QUICKSTART, "--out", str(old)]) == 0
    old_out = capsys.readouterr().out
    files = sorted(p.name for p in old.iterdir())
    assert {"metrics.json", "equity.csv", "orders.csv", "signals.csv", "tearsheet.html"} <= set(files)
    assert files == sorted(p.name for p in new.iterdir())
    for name in files:
        assert (new / name).read_bytes() == (old / name).read_bytes(), name
    assert "trades" in old_out and new_out.replace(str(new), "X") == old_out.replace(str(old), "X")


DOWNLOAD = [
    "data",
    "download",
    "--source",
    "sample",
    "--symbols",
    "A",
    "--timeframe",
    "1d",
    "--start",
    "2015-01-01",
    "--end",
    "2015-12-31",
    "--chunk-bars",
    "60",
]


def test_download_draws_no_bar_when_stderr_is_not_a_terminal(tmp_path, capsys) -> None:
    assert main([*DOWNLOAD, "--cache-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("A 1d: 261 bars") and "(7 chunks fetched)" in out
    assert "\r" not in err and "chunk/s" not in err and "%|" not in err
    assert all(line[2:3] == ":" for line in err.splitlines()), err  # log lines only (HH:MM:SS ...)


def test_download_draws_a_bar_on_a_terminal_unless_quiet(tmp_path, monkeypatch, capsys) -> None:
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert main([*DOWNLOAD, "--cache-dir", str(tmp_path / "a")]) == 0
    assert "A 1d:   0%|" in term.getvalue() and "0/7" in term.getvalue()
    term.seek(0), term.truncate()
    assert main([*DOWNLOAD, "--cache-dir", str(tmp_path / "b"), "-q"]) == 0
    assert term.getvalue() == ""
    assert "(7 chunks fetched)" in capsys.readouterr().out


def test_the_console_script_is_declared_with_its_dependencies() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"] == {"market-predictor": "bot.main:main"}
    assert any(d.startswith("tqdm") for d in project["project"]["dependencies"])
    assert set(project["tool"]["setuptools"]["py-modules"]) == {"run_backtest", "run_live"}
    module, _, func = project["project"]["scripts"]["market-predictor"].partition(":")
    assert getattr(__import__(module, fromlist=[func]), func) is main


def test_a_real_process_exits_2_with_one_line_and_help_exits_0(tmp_path) -> None:
    argv = [sys.executable, "-m", "bot.main", "backtest", "--config", str(tmp_path / "no.yaml")]
    bad = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == f"config error: {tmp_path / 'no.yaml'}: config file not found\n"
    ok = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert ok.returncode == 0 and "research evaluate" in ok.stdout, ok.stderr
