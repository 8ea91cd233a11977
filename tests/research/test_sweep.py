"""python -m bot.research.sweep: a grid of backtests on Dask (a local cluster on loopback), checked
against serial runs byte for byte; resuming, failed runs, a running scheduler and bad grid keys."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.backtest import run_backtest, write_run
from bot.configure import load_config
from bot.research import sweep
from bot.research.grid import load_trials, run_id, set_items

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "config/backtest/sma_cross.yaml")
# deterministic sample data, one symbol, two years: about a second per run
SETS = [
    "data.source=sample",
    "data.symbols=[SAMPLE_A]",
    "data.start=2019-01-01",
    "data.end=2020-12-31",
    "registry.log_backtests=false",
]
GRID = "strategy.params.fast: [5, 10]\nstrategy.params.slow: [30, 60]\n"
COMPARED = ("config.yaml", "metrics.json", "trades.csv", "orders.csv", "equity.csv", "signals.csv")


def _args(*extra: str) -> list[str]:
    out = ["--config", CONFIG, "-q"]
    for s in SETS:
        out += ["--set", s]
    return out + list(extra)


def _grid(tmp_path: Path, text: str = GRID, name: str = "grid.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "sweep.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _ids(*pairs: tuple[int, int]) -> set[str]:
    return {run_id(set_items({"strategy.params.fast": f, "strategy.params.slow": s})) for f, s in pairs}


ALL = ((5, 30), (5, 60), (10, 30), (10, 60))


@pytest.fixture(scope="module")
def scheduler():
    """A 2-worker local cluster on loopback that the tests reach through its tcp:// address."""
    from dask.distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    try:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_grid_on_a_local_cluster_matches_serial_backtests(tmp_path, capsys):
    out = tmp_path / "sweep"
    rc = sweep.main(_args("--grid", _grid(tmp_path), "--workers", "2", "--out", str(out)))
    assert rc == 0, capsys.readouterr().err
    rows = _rows(out)
    assert {r["run_id"] for r in rows} == _ids(*ALL) and len(rows) == 4
    serial_dir = tmp_path / "serial"
    for row in rows:
        overrides = json.loads(row["overrides"])
        assert row["status"] == "ok" and row["error"] == ""
        assert (int(row["strategy.params.fast"]), int(row["strategy.params.slow"])) == (
            overrides["strategy.params.fast"],
            overrides["strategy.params.slow"],
        )
        run_dir = Path(row["run_dir"])
        assert run_dir == (out / "runs" / row["run_id"]).resolve()
        metrics = json.loads((run_dir / "metrics.json").read_text())
        for key in ("sharpe", "cagr", "max_drawdown", "total_return"):
            assert float(row[key]) == metrics[key]
        assert int(row["n_trades"]) == metrics["n_trades"]
        cfg = load_config(CONFIG, SETS + list(set_items(overrides)))
        serial = write_run(run_backtest(cfg), serial_dir / row["run_id"], tearsheet=False)
        for name in COMPARED:
            assert (run_dir / name).read_bytes() == (serial / name).read_bytes(), (
                row["run_id"],
                name,
            )
    assert len({r["sharpe"] for r in rows}) == 4  # the overrides took effect: four different results
    _check_deflation(out, rows)


def _check_deflation(out: Path, rows: list[dict[str, str]]) -> None:
    """deflation.json: the best run's DSR over the sweep, recomputed from the equity.csv files."""
    import numpy as np
    import pandas as pd

    from bot.ml.stats import deflated_sharpe_ratio, sharpe_stats

    stats = {}
    for row in rows:
        eq = pd.read_csv(Path(row["run_dir"]) / "equity.csv")
        stats[row["run_id"]] = sharpe_stats(eq["equity"].pct_change().dropna().to_numpy())  # daily bars
        assert float(row["daily_sharpe"]) == stats[row["run_id"]]["sharpe_per_bar"]
    best = max(stats, key=lambda k: stats[k]["sharpe_per_bar"])
    b = stats[best]
    spread = float(np.std([s["sharpe_per_bar"] for s in stats.values()], ddof=1))
    d = json.loads((out / "deflation.json").read_text())
    assert d["best_run"] == best and d["n_trials"] == 4
    assert d["dsr"] == pytest.approx(
        deflated_sharpe_ratio(b["sharpe_per_bar"], b["n_obs"], 4, spread, b["skew"], b["kurtosis"]),
        rel=1e-12,
    )
    assert d["dsr"] < b["psr"]  # deflating for the choice among four lowers it


def test_resume_on_a_running_scheduler_reruns_only_missing_and_failed(tmp_path, scheduler, capsys):
    out = tmp_path / "sweep"
    argv = _args("--grid", _grid(tmp_path), "--scheduler", scheduler, "--out", str(out))
    assert sweep.main(argv) == 0, capsys.readouterr().err
    first = _rows(out)
    assert {r["run_id"] for r in first} == _ids(*ALL) and {r["status"] for r in first} == {"ok"}
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/metrics.json")}
    table = (out / "sweep.csv").read_bytes()

    assert sweep.main(argv) == 0  # everything done: nothing runs, no row added, no folder touched
    assert (out / "sweep.csv").read_bytes() == table
    assert {p: p.stat().st_mtime_ns for p in out.glob("runs/*/metrics.json")} == stamps

    dropped, failed = first[0]["run_id"], first[1]["run_id"]
    kept = [
        dict(r, status="failed", error="boom") if r["run_id"] == failed else r for r in first if r["run_id"] != dropped
    ]
    with (out / "sweep.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(first[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(kept)
    assert sweep.main(argv) == 0
    rows = _rows(out)
    assert [r["run_id"] for r in rows[:3]] == [r["run_id"] for r in kept]
    assert {r["run_id"] for r in rows[3:]} == {dropped, failed} and len(rows) == 5
    assert all(r["status"] == "ok" for r in rows[3:])
    again = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/metrics.json")}
    changed = {p.parent.name for p in again if again[p] != stamps[p]}
    assert changed == {dropped, failed}


def test_a_failing_run_is_recorded_and_the_others_finish(tmp_path, scheduler, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "SAMPLE_A.csv").write_text("date,open,high,low,close,volume\n2019-01-02,1,1,1,abc,10\n")
    grid = _grid(
        tmp_path,
        "strategy.params.fast: [5, 10]\nstrategy.params.slow: [30]\nruns:\n"
        f"  - {{data.source: csv, data.path: '{bad}'}}\n",
    )
    out = tmp_path / "sweep"
    rc = sweep.main(_args("--grid", grid, "--scheduler", scheduler, "--out", str(out)))
    assert rc == 1  # a run failed: the exit code says so, after the others finished
    rows = {r["run_id"]: r for r in _rows(out)}
    failed = run_id(set_items({"data.path": str(bad), "data.source": "csv"}))
    assert set(rows) == _ids((5, 30), (10, 30)) | {failed}
    assert rows[failed]["status"] == "failed"
    assert rows[failed]["error"] == f"data error: {bad}/SAMPLE_A.csv:2: 2019-01-02: close is not a number ('abc')"
    assert not (out / "runs" / failed).exists()  # a failed run leaves no run folder behind
    assert "DataError" in (out / "errors" / f"{failed}.txt").read_text()
    assert all(rows[i]["status"] == "ok" and rows[i]["sharpe"] for i in _ids((5, 30), (10, 30)))
    assert "failed" in capsys.readouterr().err


def test_a_bad_grid_key_is_one_line_and_exit_2_before_anything_runs(tmp_path, capsys):
    grid = _grid(tmp_path, "strategy.params.fast: [5]\nstrategy.params.fsat: [30]\n")
    out = tmp_path / "out"
    res = subprocess.run(
        [sys.executable, "-m", "bot.research.sweep", *_args("--grid", grid, "--out", str(out))],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert res.returncode == 2
    assert res.stderr == (
        f"config error: {grid}: strategy.params.fsat: unknown key (did you mean 'fast'?) "
        "(run strategy.params.fast=5, strategy.params.fsat=30)\n"
    )
    assert not out.exists()
    cases = {
        "strategy.params.fast: [5]\nruns:\n  - {strategy.params.fast: 70}\n": (
            "config error: {g}: runs[0]: strategy.params: fast (70) must be smaller than slow (50) (run "
        ),
        "strategy.params.fast: 5\n": ("config error: {g}: strategy.params.fast: must be a non-empty list"),
        "runs: [{strategy..fast: 3}]\n": ("config error: {g}: runs[0]: strategy..fast: expected a dotted"),
    }
    for i, (text, expected) in enumerate(cases.items()):
        grid = _grid(tmp_path, text, f"grid{i}.yaml")
        assert sweep.main(_args("--grid", grid, "--out", str(out))) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(expected.format(g=grid)), lines
        assert not out.exists()


def test_a_sweep_folder_of_another_base_config_is_refused(tmp_path, capsys):
    out = tmp_path / "sweep"
    sweep.prepare_sweep_dir(out, load_config(CONFIG, SETS))
    rc = sweep.main(_args("--grid", _grid(tmp_path), "--out", str(out), "--set", "broker.commission=0.002"))
    assert rc == 2
    assert capsys.readouterr().err.startswith(f"config error: --out: {out} holds a sweep of a different base")
    assert not (out / "sweep.csv").exists()


def test_trials_table_columns_named_by_dotted_keys(tmp_path):
    path = tmp_path / "trials.csv"
    path.write_text(
        "number,value,state,params_strategy.params.fast,strategy.params.slow,params\n"
        "0,0.4,COMPLETE,5,30,\n"
        "1,,PRUNED,7,30,\n"
        '2,0.5,COMPLETE,,60,"{strategy.params.fast: 10, broker.commission: 0.001}"\n'
    )
    assert load_trials(path) == [
        (f"{path}:2", {"strategy.params.fast": 5, "strategy.params.slow": 30}),
        (
            f"{path}:4",
            {"strategy.params.fast": 10, "broker.commission": 0.001, "strategy.params.slow": 60},
        ),
    ]
    base, runs = sweep.load_runs(CONFIG, SETS, None, str(path))
    assert [r.items for r in runs] == [
        ("strategy.params.fast=5", "strategy.params.slow=30"),
        ("broker.commission=0.001", "strategy.params.fast=10", "strategy.params.slow=60"),
    ]
    path.write_text("strategy.params.fast,strategy.params.slow\n5,30\n50,30\n")
    with pytest.raises(Exception, match=rf"^{path}:3: strategy.params: fast \(50\) must be smaller"):
        sweep.load_runs(CONFIG, SETS, None, str(path))


def test_run_ids_depend_on_the_overrides_only_and_errors_are_masked():
    a = set_items({"strategy.params.slow": 30, "strategy.params.fast": 5})
    assert a == set_items({"strategy.params.fast": 5, "strategy.params.slow": 30})
    assert run_id(a) == run_id(a) != run_id(set_items({"strategy.params.fast": 6, "strategy.params.slow": 30}))
    assert len(run_id(a)) == 12
    assert set_items({"data.start": "2019-01-01"}) != set_items({"data.start": __import__("datetime").date(2019, 1, 1)})
    e = RuntimeError("cannot reach postgresql://user:secret@db/mlflow\nsecond line")
    assert sweep.error_line(e) == "RuntimeError: cannot reach postgresql://***@db/mlflow"


def test_table_rows_survive_a_new_override_column(tmp_path):
    from bot.research import sweep_table as table

    path = tmp_path / "sweep.csv"
    first = table.header(["strategy.params.fast"])
    table.open_table(path, first)
    record = {
        "run_id": "a" * 12,
        "status": "ok",
        "sharpe": 0.5,
        "overrides": {"strategy.params.fast": 5},
    }
    table.append_row(path, record, first)
    table.append_row(path, dict(record, run_id="b" * 12, status="failed", sharpe=None, error='x, "y"'), first)
    wider = table.header(["strategy.params.fast", "broker.commission"])
    table.open_table(path, wider)
    header, rows = table.read_rows(path)
    assert header == wider and [r["run_id"] for r in rows] == ["a" * 12, "b" * 12]
    assert rows[0]["strategy.params.fast"] == "5" and rows[0]["broker.commission"] == ""
    assert rows[0]["sharpe"] == "0.5" and rows[1]["error"] == 'x, "y"' and rows[1]["sharpe"] == ""
    assert table.latest(rows + [dict(rows[1], status="ok")])["b" * 12]["status"] == "ok"


def test_trials_table_written_by_optimize_is_read(tmp_path):
    """bot.research.optimize writes state complete / invalid (lower case) and one column per dotted key."""
    path = tmp_path / "trials.csv"
    path.write_text(
        "number,state,strategy.params.fast,strategy.params.slow,risk.stop_loss,score,sharpe,is_1,oos_1,error\n"
        "0,complete,7,163,0.05,0.57,0.57,1.4,0.26,\n"
        '1,invalid,50,30,0.1,,,,,"strategy.params: fast (50) must be smaller than slow (30)"\n'
    )
    assert load_trials(path) == [
        (f"{path}:2", {"strategy.params.fast": 7, "strategy.params.slow": 163, "risk.stop_loss": 0.05}),
    ]
