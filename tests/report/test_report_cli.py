"""The command line: rebuild, compare, and one-line errors with exit codes 2 and 3."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from report_helpers import external_references, parse

from bot.report.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.report", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_bad_run_dir_is_one_line_config_error_exit_2(tmp_path):
    result = _cli(str(tmp_path))
    assert result.returncode == 2
    assert result.stderr == f"config error: {tmp_path}: not a run folder (no metrics.json)\n"
    assert "Traceback" not in result.stdout + result.stderr


def test_rebuild_writes_tearsheet_and_prints_its_path(make_run, capsys):
    run_dir = make_run("cli", n_bars=260, n_trades=15)
    (run_dir / "tearsheet.html").write_text("stale")
    assert main([str(run_dir)]) == 0
    assert capsys.readouterr().out.strip() == str(run_dir / "tearsheet.html")
    assert "Tear sheet: cli" in (run_dir / "tearsheet.html").read_text()
    assert not list(run_dir.glob("*.tmp-*"))


def test_broken_metrics_json_is_a_data_error_exit_3(make_run, capsys):
    run_dir = make_run("broken", n_bars=260, n_trades=15)
    (run_dir / "metrics.json").write_text('{"sharpe": 1.0,\n  oops}')
    assert main([str(run_dir)]) == 3
    err = capsys.readouterr().err
    assert (
        err == f"data error: {run_dir / 'metrics.json'}:2: not valid JSON "
        "(Expecting property name enclosed in double quotes)\n"
    )


def test_bad_timestamp_names_file_and_line(make_run, capsys):
    run_dir = make_run("badts", n_bars=260, n_trades=15)
    lines = (run_dir / "equity.csv").read_text().splitlines()
    lines[4] = "not-a-date," + lines[4].split(",", 1)[1]
    (run_dir / "equity.csv").write_text("\n".join(lines) + "\n")
    assert main([str(run_dir)]) == 3
    assert capsys.readouterr().err.startswith(f"data error: {run_dir / 'equity.csv'}:5: unparseable timestamp")


def test_compare_puts_runs_side_by_side(make_run, tmp_path, capsys):
    a = make_run("alpha", n_bars=300, n_trades=20, seed=1)
    b = make_run("beta", ml=False, n_bars=300, n_trades=20, seed=2)
    out = tmp_path / "cmp.html"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    html = out.read_text()
    page = parse(html)
    table = re.search(r'<table class="compare">(.*?)</table>', html, re.S).group(1)
    assert re.findall(r'<th scope="col">(.*?)</th>', table) == ["Metric", "alpha", "beta"]
    assert "Sharpe ratio" in table and "Max drawdown" in table
    assert "Equity curves (growth of 1)" in page.headings
    assert html.count("<svg") >= 2 and external_references(html) == []


def test_compare_with_a_bad_folder_fails_cleanly(make_run, tmp_path):
    a = make_run("alpha", n_bars=260, n_trades=10)
    result = _cli("compare", str(a), str(tmp_path / "nope"), "--out", str(tmp_path / "x.html"))
    assert result.returncode == 2
    assert result.stderr == f"config error: {tmp_path / 'nope'}: not a run folder (no metrics.json)\n"
    assert not (tmp_path / "x.html").exists()
