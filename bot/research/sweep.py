"""Run full backtests over a grid of config overrides on Dask distributed.

    python -m bot.research.sweep --config CFG --grid grid.yaml [--trials trials.csv]
        [--scheduler tcp://HOST:8786] [--workers N] [--out DIR] [--tearsheets] [--set k=v] [-q]

The runs (see ``bot/research/grid.py`` for the grid and trials formats) are validated up front;
a bad key stops everything before any run starts (``config error: grid.yaml: <key>: ...``, exit 2).
Each run is ``run_backtest`` + ``write_run`` on a Dask worker, into ``<out>/runs/<run id>/``; the
worker loads the data itself from the config's paths. By default the sweep starts a local cluster
(``--workers`` processes on 127.0.0.1, one thread each, dashboard on loopback only) and stops it at
the end; with ``--scheduler`` it uses a running Dask scheduler, whose workers must have this
project installed at the same version (checked before any run) and see the data paths and
``--out`` (a shared file system).

Results go to ``<out>/sweep.csv`` as they arrive (``bot/research/sweep_table.py``). Rerunning the
same command skips the run ids whose last row is ``ok`` and reruns the failed and missing ones.
A run that raises is a ``failed`` row with a one-line error (its masked traceback in
``<out>/errors/<run id>.txt``) and the sweep goes on; the exit code is 1 when any run failed.
``<out>/deflation.json`` holds the best run's deflated Sharpe ratio counting every run of the grid.
When ``registry.log_backtests`` is on, this process logs each finished run folder to MLflow, one
at a time, so parallel runs never write the tracking store together.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger

from bot.analytics.performance import daily_equity
from bot.backtest import run_backtest, write_run
from bot.cli import base_parser, run_cli, setup_logging
from bot.config import Config, apply_override, dump_config, read_yaml
from bot.configure import parse_config
from bot.errors import ConfigError, UserError, without_credentials
from bot.ml.stats import deflated_sharpe_ratio, sharpe_stats
from bot.models.tracking import log_backtest_run, logging_failed
from bot.progress import track
from bot.research import sweep_table as table
from bot.research.grid import Run, build_runs, load_grid, load_trials
from bot.runfolder import json_text
from bot.version import code_version

TABLE = "sweep.csv"
BASE = "base_config.yaml"


@dataclass(frozen=True)
class RunTask:
    """What a worker needs for one run: the config mapping (small), never the data."""

    run_id: str
    raw: dict[str, Any]
    base_dir: str | None
    run_dir: str
    tearsheet: bool = False
    verbose: bool = False


def error_line(e: BaseException) -> str:
    """Return one line describing ``e``, URL credentials masked."""
    if isinstance(e, UserError):
        text = e.line()
    else:
        first = (str(e).strip().splitlines() or [""])[0]
        text = f"{type(e).__name__}: {first}" if first else type(e).__name__
    return without_credentials(text)[:500]


def run_one(task: RunTask) -> dict[str, Any]:
    """Run one backtest and write its folder (on a worker); return its table record, never raise."""

    setup_logging(quiet=not task.verbose)
    t0 = time.perf_counter()
    record: dict[str, Any] = {"run_id": task.run_id, "run_dir": task.run_dir}
    try:
        cfg = parse_config(task.raw, Path(task.base_dir) if task.base_dir else None)
        result = run_backtest(cfg)
        write_run(result, Path(task.run_dir), tearsheet=task.tearsheet)
        metrics = json.loads(json_text(result.metrics))  # the numbers exactly as metrics.json holds them
        record.update(status="ok", **table.key_metrics(metrics), **daily_stats(result.ledger.equity_frame()))
    except Exception as e:  # recorded as a failed row: the sweep goes on
        record.update(
            status="failed",
            error=error_line(e),
            traceback=without_credentials(traceback.format_exc()),
        )
    record["seconds"] = round(time.perf_counter() - t0, 3)
    return record


def daily_stats(equity_frame: Any) -> dict[str, Any]:
    """Return the per-day Sharpe ratio, day count, skewness and kurtosis of daily returns."""
    import pandas as pd

    equity = pd.Series(equity_frame["equity"].to_numpy(), index=pd.DatetimeIndex(equity_frame["timestamp"]))
    s = sharpe_stats(daily_equity(equity).pct_change().dropna().to_numpy())
    finite = {k: (v if v == v else None) for k, v in s.items()}  # NaN -> empty cell
    return {
        "daily_sharpe": finite["sharpe_per_bar"],
        "n_days": s["n_obs"],
        "skew": finite["skew"],
        "kurtosis": finite["kurtosis"],
    }


def sweep_deflation(rows: list[dict[str, str]], run_ids: set[str]) -> dict[str, Any] | None:
    """Return the best run's deflated Sharpe ratio counting every compared run of the sweep.

    The DSR (Bailey & Lopez de Prado 2014) of the run with the highest daily Sharpe ratio, against
    the Sharpe the best of N skill-less runs would reach, N = the ``ok`` runs of this grid with a
    daily Sharpe ratio and the spread = their standard deviation; None with fewer than two.
    """
    import numpy as np

    ok = [
        r
        for rid, r in table.latest(rows).items()
        if rid in run_ids and r.get("status") == "ok" and r.get("daily_sharpe") and r.get("kurtosis")
    ]
    if len(ok) < 2:
        return None
    sharpes = np.array([float(r["daily_sharpe"]) for r in ok])
    best = ok[int(np.argmax(sharpes))]
    spread = float(np.std(sharpes, ddof=1))
    dsr = (
        deflated_sharpe_ratio(
            float(best["daily_sharpe"]),
            int(best["n_days"]),
            len(ok),
            spread,
            float(best["skew"]),
            float(best["kurtosis"]),
        )
        if spread > 0
        else None
    )
    return {
        "best_run": best["run_id"],
        "sharpe": float(best["sharpe"]),
        "daily_sharpe": float(best["daily_sharpe"]),
        "n_trials": len(ok),
        "daily_sharpe_std": spread,
        "dsr": dsr,
    }


def worker_code_version() -> str:
    """Return the code version a worker runs (compared with the client's before a sweep)."""

    return code_version()


# --------------------------------------------------------------------------- Dask


@contextmanager
def dask_client(scheduler: str | None, workers: int) -> Iterator[Any]:
    """Yield a Client of ``scheduler``, or of a local cluster of ``workers`` on loopback."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as e:
            raise ConfigError(
                "--scheduler",
                f"cannot connect to {without_credentials(scheduler)}: {error_line(e)}",
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        worker_dashboard_address=None,
    )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        _close_quietly(cluster)


def _close_quietly(cluster: Any) -> None:
    """Close a local cluster; a worker slow to exit is killed then, which needs no warning."""
    nanny = logging.getLogger("distributed.nanny")
    level = nanny.level
    nanny.setLevel(logging.ERROR)
    try:
        cluster.close()
    finally:
        nanny.setLevel(level)


def check_workers(client: Any, where: str = "--scheduler", wait_s: float = 60) -> int:
    """Wait for a worker, check every worker runs this code version; return how many run."""

    try:
        client.wait_for_workers(1, timeout=wait_s)
    except TimeoutError:
        raise ConfigError(where, f"no worker joined the scheduler within {wait_s:g} s") from None
    try:
        versions = client.run(worker_code_version)
    except Exception as e:  # the workers cannot import this project
        raise ConfigError(
            where,
            f"workers cannot run the sweep ({error_line(e)}): install this project on every worker",
        ) from None
    mine = code_version()
    for address, version in sorted(versions.items()):
        if version != mine:
            raise ConfigError(
                where,
                f"worker {address} runs market-predictor {version}, this "
                f"client {mine}: install the same code on every worker",
            )
    return len(versions)


def execute(client: Any, tasks: list[RunTask]) -> Iterator[dict[str, Any]]:
    """Submit every task and yield their records as they finish (a lost task is a failed record)."""
    from dask.distributed import as_completed

    futures = {
        client.submit(run_one, t, key=f"backtest-{t.run_id}-{uuid.uuid4().hex[:8]}", pure=False): t for t in tasks
    }
    for future in as_completed(futures):
        task = futures[future]
        try:
            record = future.result()
        except Exception as e:  # the worker died, or the task could not be sent or unpacked
            record = {
                "run_id": task.run_id,
                "run_dir": task.run_dir,
                "status": "failed",
                "error": error_line(e),
                "traceback": without_credentials(traceback.format_exc()),
            }
        finally:
            future.release()
        yield record


# --------------------------------------------------------------------------- the sweep folder


def prepare_sweep_dir(out: Path, base: Config) -> None:
    """Create the sweep folder, or check an earlier one was made from the same base config."""
    text = dump_config(base)
    marker = out / BASE
    if marker.is_file():
        if marker.read_text(encoding="utf-8") != text:
            raise ConfigError(
                "--out",
                f"{out} holds a sweep of a different base config ({marker}); choose another --out",
            )
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError("--out", f"{out} exists and is not a sweep folder; choose another path")
    (out / "runs").mkdir(parents=True, exist_ok=True)
    marker.write_text(text, encoding="utf-8")


def columns_for(runs: list[Run], old_header: list[str]) -> list[str]:
    """Return the table columns: the override keys of earlier rows and of these runs."""
    keys = [c for c in old_header if c not in table.header([])]
    for run in runs:
        keys += [k for k in run.overrides if k not in keys]
    return table.header(keys)


def _record_failure(out: Path, record: dict[str, Any]) -> None:
    if record.get("status") == "failed" and record.get("traceback"):
        errors = out / "errors"
        errors.mkdir(exist_ok=True)
        (errors / f"{record['run_id']}.txt").write_text(record["traceback"], encoding="utf-8")


def _log_mlflow(run_dir: str, cfg: Config) -> None:

    try:
        log_backtest_run(run_dir, cfg.registry)
    except Exception as e:  # the tracking store is down: the run folder is complete anyway
        logger.warning(logging_failed(f"run {Path(run_dir).name}", e))


def _describe(record: dict[str, Any], run: Run) -> str:
    if record["status"] != "ok":
        return f"failed: {record.get('error', '')}"
    sharpe = record.get("sharpe")
    shown = "n/a" if sharpe is None else f"{sharpe:.3f}"
    return f"ok, sharpe {shown}, {record.get('n_trades')} trades ({', '.join(run.items)})"


def sweep(
    runs: list[Run],
    base_dir: Path | None,
    out: Path,
    scheduler: str | None,
    workers: int,
    tearsheets: bool = False,
    verbose: bool = False,
) -> dict[str, int]:
    """Run the runs not yet ``ok`` in ``out/sweep.csv``; return counts by outcome."""
    path = out / TABLE
    old_header, rows = table.read_rows(path)
    columns = columns_for(runs, old_header)
    table.open_table(path, columns)
    done = {rid for rid, r in table.latest(rows).items() if r.get("status") == "ok"}
    todo = [r for r in runs if r.run_id not in done]
    counts = {"runs": len(runs), "skipped": len(runs) - len(todo), "ok": 0, "failed": 0}
    logger.info(f"{len(runs)} runs: {counts['skipped']} already done, {len(todo)} to run")
    if not todo:
        return counts
    by_id = {r.run_id: r for r in todo}
    tasks = [
        RunTask(
            r.run_id,
            r.raw,
            str(base_dir) if base_dir else None,
            str((out / "runs" / r.run_id).resolve()),
            tearsheets,
            verbose,
        )
        for r in todo
    ]
    with dask_client(scheduler, workers) as client:
        n = check_workers(client, "--scheduler" if scheduler else "--workers")
        logger.info(f"running on {n} workers of {client.scheduler.address}")
        for i, record in enumerate(track(execute(client, tasks), total=len(tasks), desc="runs", unit="run"), start=1):
            run = by_id[record["run_id"]]
            record["overrides"] = run.overrides
            _record_failure(out, record)
            table.append_row(path, record, columns)
            counts[record["status"]] += 1
            log = logger.info if record["status"] == "ok" else logger.warning
            log(f"[{i}/{len(tasks)}] {run.run_id} {_describe(record, run)}")
            cfg = parse_config(run.raw, base_dir)
            if record["status"] == "ok" and cfg.registry.log_backtests:
                _log_mlflow(record["run_dir"], cfg)
    return counts


def best_rows(path: Path, n: int = 5) -> list[dict[str, str]]:
    """Return the ``n`` ok rows with the highest Sharpe ratio (latest row of each run)."""
    ok = [r for r in table.latest(table.read_rows(path)[1]).values() if r["status"] == "ok" and r["sharpe"]]
    return sorted(ok, key=lambda r: float(r["sharpe"]), reverse=True)[:n]


def write_deflation(out: Path, run_ids: set[str]) -> dict[str, Any] | None:
    """Write ``<out>/deflation.json`` (see ``sweep_deflation``) and return it."""

    d = sweep_deflation(table.read_rows(out / TABLE)[1], run_ids)
    if d is not None:
        (out / "deflation.json").write_text(json_text(d), encoding="utf-8")
    return d


def _summary(out: Path, counts: dict[str, int], deflation: dict[str, Any] | None) -> str:
    lines = [
        f"sweep: {counts['runs']} runs, {counts['skipped']} already done, {counts['ok']} ok, "
        f"{counts['failed']} failed now; table {out / TABLE}"
    ]
    for r in best_rows(out / TABLE):
        overrides = ", ".join(f"{k}={v}" for k, v in json.loads(r["overrides"]).items())
        cagr = f"{float(r['cagr']) * 100:7.2f}%" if r["cagr"] else "     n/a"
        lines.append(f"  sharpe {float(r['sharpe']):8.3f}  cagr {cagr}  {r['run_id']}  {overrides}")
    if deflation is not None:
        dsr = "n/a" if deflation["dsr"] is None else f"{deflation['dsr']:.3f}"
        n = deflation["n_trials"]
        lines.append(
            f"the best run {deflation['best_run']} (sharpe {deflation['sharpe']:.3f}) is the best "
            f"of {n}: its deflated Sharpe ratio counting them is {dsr} (deflation.json; "
            "> 0.95 is significant)"
        )
    return "\n".join(lines)


def load_runs(config: str, sets: list[str], grid: str | None, trials: str | None) -> tuple[Config, list[Run]]:
    """Read and validate the base config and every run's overrides (ConfigError on a problem)."""
    if not grid and not trials:
        raise ConfigError("--grid", "give a grid file (--grid) and/or a trials table (--trials)")
    raw = read_yaml(config)
    for item in sets:
        raw = apply_override(raw, item)
    base_dir = Path(config).resolve().parent
    base = parse_config(raw, base_dir)
    sources = (load_grid(grid) if grid else []) + (load_trials(trials) if trials else [])
    return base, build_runs(raw, base_dir, sources)


def main(argv: list[str] | None = None) -> int:
    parser = base_parser("python -m bot.research.sweep", "Run backtests over a grid of config overrides on Dask.")
    parser.add_argument("--grid", help="grid YAML: dotted key -> list of values (product), and/or runs: [...]")
    parser.add_argument("--trials", help="trials.csv: one run per row, columns named by dotted config keys")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (default: a local cluster)")
    parser.add_argument("--workers", type=int, default=2, help="local cluster worker processes (default 2)")
    parser.add_argument("--out", help="sweep folder (default: sweeps/<config name>-<grid name>/)")
    parser.add_argument("--tearsheets", action="store_true", help="write tearsheet.html in every run folder")
    args = parser.parse_args(argv)

    def go() -> int:
        setup_logging(args.quiet, args.verbose)
        if args.workers < 1:
            raise ConfigError("--workers", f"must be at least 1, got {args.workers}")
        base, runs = load_runs(args.config, args.set, args.grid, args.trials)
        stem = Path(args.grid or args.trials).stem
        out = Path(args.out) if args.out else Path("sweeps") / f"{base.name}-{stem}"
        prepare_sweep_dir(out, base)
        counts = sweep(
            runs,
            Path(args.config).resolve().parent,
            out,
            args.scheduler,
            args.workers,
            args.tearsheets,
            args.verbose,
        )
        deflation = write_deflation(out, {r.run_id for r in runs})
        print(_summary(out, counts, deflation))
        return 1 if counts["failed"] else 0

    return run_cli(go)


if __name__ == "__main__":
    sys.exit(main())
