"""The sweep table (sweep.csv): one row per finished run, appended as results arrive.

Columns: ``run_id, status`` (``ok`` or ``failed``), one column per overridden key (its value as
YAML flow text, as ``--set`` takes it), the key metrics from the run's ``metrics.json``, the
statistics of its daily returns (``daily_sharpe``, not annualised, ``n_days``, ``skew``,
``kurtosis``),
``seconds`` (wall time of the run on its worker), ``error`` (one line, URL credentials masked),
``run_dir`` and ``overrides`` (JSON). A rerun of a run appends a new row; the last row of a run id
is its current state. Each row is written with one ``write`` on a file opened for appending and
then flushed to disk, so an interrupted sweep leaves whole rows only.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from bot.research.grid import flow

# column -> path in metrics.json
METRICS: dict[str, tuple[str, ...]] = {
    "total_return": ("total_return",),
    "cagr": ("cagr",),
    "annual_volatility": ("annual_volatility",),
    "sharpe": ("sharpe",),
    "sortino": ("sortino",),
    "calmar": ("calmar",),
    "max_drawdown": ("max_drawdown",),
    "n_trades": ("n_trades",),
    "win_rate": ("win_rate",),
    "profit_factor": ("profit_factor",),
    "exposure": ("exposure",),
    "final_value": ("final_value",),
    "psr": ("stats", "psr"),
    "dsr": ("stats", "dsr"),
    "active_sharpe": ("stats", "active_sharpe"),
    "dsr_vs_benchmark": ("stats", "dsr_vs_benchmark"),
    "n_trials": ("stats", "n_trials"),
    "benchmark_total_return": ("benchmark", "total_return"),
    "ml_accuracy": ("ml", "accuracy"),
    "ml_roc_auc": ("ml", "roc_auc"),
}
# the daily-return statistics the sweep's deflated Sharpe ratio needs (not annualised)
DAILY = ("daily_sharpe", "n_days", "skew", "kurtosis")
HEAD = ("run_id", "status")
TAIL = ("seconds", "error", "run_dir", "overrides")


def header(keys: list[str]) -> list[str]:
    """Return the table's columns for runs overriding ``keys``."""
    return [*HEAD, *keys, *METRICS, *DAILY, *TAIL]


def key_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """Return the table's metric cells from a metrics.json mapping (absent ones: None)."""
    out = {}
    for column, path in METRICS.items():
        node: Any = metrics
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        out[column] = node
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def row_cells(record: dict[str, Any], columns: list[str]) -> list[str]:
    """Return the cells of ``record`` (run_id, status, overrides, metrics, ...) for ``columns``."""
    overrides = record.get("overrides") or {}
    cells = []
    for c in columns:
        if c == "overrides":
            cells.append(json.dumps(overrides, sort_keys=True, default=str))
        elif c in overrides:
            cells.append(flow(overrides[c]))
        else:
            cells.append(_text(record.get(c)))
    return cells


def _line(cells: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue().encode("utf-8")


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Return (header, rows) of an existing table (([], []) when there is none)."""
    if not path.is_file():
        return [], []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def latest(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """Return the last row of each run id."""
    return {r["run_id"]: r for r in rows if r.get("run_id")}


def append_row(path: Path, record: dict[str, Any], columns: list[str]) -> None:
    """Append one row as a single write, then flush it to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, _line(row_cells(record, columns)))
        os.fsync(fd)
    finally:
        os.close(fd)


def open_table(path: Path, columns: list[str]) -> None:
    """Make ``path`` a table with ``columns``: create it, or rewrite its rows under them."""
    old_header, rows = read_rows(path)
    if old_header == columns:
        return
    tmp = path.with_name(f".{path.name}.tmp")
    data = [_line(columns)]
    for r in rows:
        overrides = json.loads(r.get("overrides") or "{}")
        data.append(
            _line([r[c] if r.get(c) is not None else (flow(overrides[c]) if c in overrides else "") for c in columns])
        )
    tmp.write_bytes(b"".join(data))
    os.replace(tmp, path)
