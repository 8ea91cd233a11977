"""Write a run folder all at once: files go to a temporary sibling that is renamed when complete."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from bot.errors import ConfigError, without_credentials


def format_timestamps(values: pd.Series) -> pd.Series:
    """Return ISO 8601 strings: a date for daily bars, ``YYYY-MM-DDTHH:MM:SSZ`` (UTC) otherwise."""
    ts = pd.to_datetime(values, utc=True)
    valid = ts.dropna()
    daily = len(valid) == 0 or bool((valid == valid.dt.normalize()).all())
    fmt = "%Y-%m-%d" if daily else "%Y-%m-%dT%H:%M:%SZ"
    return ts.dt.strftime(fmt).where(ts.notna(), "")


def csv_text(df: pd.DataFrame, time_columns: tuple[str, ...] = ()) -> str:
    """Return deterministic CSV text with timestamps formatted as ISO 8601."""
    out = df.copy()
    for col in time_columns:
        if col in out:
            out[col] = format_timestamps(out[col])
    return out.to_csv(index=False, lineterminator="\n")


def json_text(obj) -> str:
    """Return pretty JSON; NaN becomes null, infinities the strings "inf"/"-inf", URL credentials ``***``."""

    def clean(v):
        if isinstance(v, str):
            return without_credentials(v)
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, float):
            if math.isnan(v):
                return None
            if math.isinf(v):
                return "inf" if v > 0 else "-inf"
        return v

    return json.dumps(clean(obj), indent=2, sort_keys=False) + "\n"


def prepare_out_dir(out: Path) -> None:
    """Refuse an --out that exists and is not an earlier run folder (or empty)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "config.yaml").exists())):
        raise ConfigError("--out", f"{out} exists and is not a run folder; choose another path")


TMP_INFIX = ".tmp-"


def final_name(folder: Path) -> str:
    """Return the name a folder will have: ``write_atomically`` fills ``.<name>.tmp-<random>`` first."""
    name = folder.name
    if name.startswith(".") and TMP_INFIX in name:
        return name[1 : name.rindex(TMP_INFIX)]
    return name


def write_atomically(out: Path, fill: Callable[[Path], None]) -> Path:
    """Call ``fill(tmp_dir)`` and move the finished folder to ``out``; leave nothing behind on error."""
    out = out.resolve()
    prepare_out_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{TMP_INFIX}", dir=out.parent))
    try:
        fill(tmp)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def write_json_atomically(path: Path, doc: dict) -> None:
    """Write ``doc`` to ``path`` through a temporary file in the same folder (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(json_text(doc))
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the decision is for cron jobs and dashboards too
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
