"""Sweep grids: which config overrides each run of ``python -m bot.research.sweep`` applies.

A grid file is a YAML mapping of dotted config key -> list of values; the runs are the cartesian
product of the lists (in the file's key order), as vectorbt's parameter product or a freqtrade
hyperopt space enumerated. An optional ``runs:`` list adds explicit override mappings, each one
run (they are not crossed with the product)::

    strategy.params.fast: [5, 10, 20]
    strategy.params.slow: [50, 100]
    runs:
      - {strategy.params.fast: 3, strategy.params.slow: 30, broker.commission: 0.001}

A trials table (``trials.csv`` of the strategy-parameter optimiser) gives one run per row: every
column named like a dotted config key (``strategy.params.entry_threshold``; Optuna's
``params_<dotted key>`` too) is an override, and a ``params`` column may hold a YAML/JSON mapping
of dotted key -> value. Cells are parsed as YAML, like ``--set``; empty cells are skipped, and
rows whose ``state`` column is not COMPLETE (any case: Optuna's COMPLETE, optimize's complete) are left out.

Each run's overrides become ``--set`` items (``key=<YAML flow value>``) applied to the base config
in sorted key order (so ``model.params`` comes before ``model.params.max_depth``); the run id is a
hash of those items, so the same overrides always get the same id and run folder.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.config import Config, apply_override, read_yaml
from bot.configure import parse_config
from bot.errors import ConfigError

RUNS_KEY = "runs"


@dataclass(frozen=True)
class Run:
    """One run of a sweep: its id, its ``--set`` items and the config they give."""

    run_id: str
    overrides: dict[str, Any]  # dotted key -> value, sorted by key
    items: tuple[str, ...]  # the same as --set items
    raw: dict[str, Any]  # the base mapping with the overrides applied (what a worker parses)


def flow(value: Any) -> str:
    """Return ``value`` as one line of YAML that parses back to it (as ``--set`` reads values)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1_000_000, allow_unicode=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def set_items(overrides: dict[str, Any]) -> tuple[str, ...]:
    """Return the ``key=value`` items of ``overrides`` in sorted key order."""
    return tuple(f"{key}={flow(overrides[key])}" for key in sorted(overrides))


def run_id(items: tuple[str, ...]) -> str:
    """Return the deterministic id of a run: 12 hex digits of the SHA-256 of its ``--set`` items."""
    return hashlib.sha256("\n".join(items).encode("utf-8")).hexdigest()[:12]


def _check_key(key: Any, where: str) -> str:
    if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
        raise ConfigError(where, f"expected a dotted config key, got {key!r}")
    return key


def load_grid(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """Read a grid file; return (where, overrides) per run, ``where`` naming its place."""
    name = str(path)
    data = read_yaml(path)
    explicit = data.pop(RUNS_KEY, None)
    out: list[tuple[str, dict[str, Any]]] = []
    keys = [_check_key(k, f"{name}: {k}") for k in data]
    for key in keys:
        values = data[key]
        if not isinstance(values, list) or not values:
            raise ConfigError(
                f"{name}: {key}",
                "must be a non-empty list of values (a one-item list for a fixed value)",
            )
    if keys:
        for combo in itertools.product(*(data[k] for k in keys)):
            out.append((name, dict(zip(keys, combo, strict=True))))
    if explicit is not None:
        if not isinstance(explicit, list):
            raise ConfigError(f"{name}: {RUNS_KEY}", "must be a list of mappings of dotted key -> value")
        for i, run in enumerate(explicit):
            where = f"{name}: {RUNS_KEY}[{i}]"
            if not isinstance(run, dict) or not run:
                raise ConfigError(where, "must be a non-empty mapping of dotted key -> value")
            out.append((where, {_check_key(k, f"{where}: {k}"): v for k, v in run.items()}))
    if not out:
        raise ConfigError(name, "no runs: give dotted keys with lists of values, or a runs: list")
    return out


def _trial_key(column: str) -> str | None:
    """Return the dotted config key a trials.csv column names, or None for other columns."""
    key = column.removeprefix("params_")
    top = key.split(".", 1)[0]
    return key if "." in key and top in Config.model_fields else None


def _cell(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(where, f"value {text!r} is not valid YAML") from None


def load_trials(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """Read a trials table; return (where, overrides) per kept row (see the module docstring)."""
    name = str(path)
    p = Path(path)
    if not p.is_file():
        raise ConfigError(name, "trials file not found")
    with p.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = {c: _trial_key(c) for c in reader.fieldnames or []}
        if not any(columns.values()) and "params" not in columns:
            raise ConfigError(
                name,
                "no column names a dotted config key (e.g. strategy.params.fast) and there is no params column",
            )
        out = []
        for line, row in enumerate(reader, start=2):
            if (row.get("state") or "COMPLETE").upper() != "COMPLETE":  # optimize writes complete/invalid
                continue
            where = f"{name}:{line}"
            overrides = _params_cell(row.get("params"), where)
            for column, key in columns.items():
                if key and (row.get(column) or "").strip():
                    overrides[key] = _cell(row[column], f"{where}: {column}")
            if overrides:
                out.append((where, overrides))
    if not out:
        raise ConfigError(name, "no runs (no row with values in the override columns)")
    return out


def _params_cell(text: str | None, where: str) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    value = _cell(text, f"{where}: params")
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: params", "must be a mapping of dotted key -> value")
    return {_check_key(k, f"{where}: params.{k}"): v for k, v in value.items()}


def build_runs(base: dict[str, Any], base_dir: Path | None, sources: list[tuple[str, dict[str, Any]]]) -> list[Run]:
    """Validate every run's config (ConfigError naming the file and key); drop repeats."""
    runs: dict[str, Run] = {}
    for where, overrides in sources:
        ordered = {k: overrides[k] for k in sorted(overrides)}
        items = set_items(ordered)
        rid = run_id(items)
        if rid in runs:
            continue
        raw = base
        try:
            for item in items:
                raw = apply_override(raw, item)
            parse_config(raw, base_dir)
        except ConfigError as e:
            shown = ", ".join(items)
            raise ConfigError(f"{where}: {e.where}", f"{e.what} (run {shown})") from None
        runs[rid] = Run(rid, ordered, items, raw)
    return list(runs.values())
