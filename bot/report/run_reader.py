"""Read a backtest run folder (the run-folder contract) into plain pandas objects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from bot.errors import ConfigError, DataError
from bot.runfolder import final_name

EQUITY_COLUMNS = ("timestamp", "equity")
TRADE_COLUMNS = (
    "symbol",
    "entry_time",
    "exit_time",
    "side",
    "size",
    "entry_price",
    "exit_price",
    "pnl",
    "pnl_net",
    "commission",
    "exit_reason",
)
OOS_COLUMNS = ("timestamp", "prob_up", "label")
FOLD_COLUMNS = ("fold", "test_start", "test_end", "accuracy", "roc_auc")
IMPORTANCE_COLUMNS = ("feature", "importance", "kind")


@dataclass(frozen=True)
class RunFolder:
    """Everything a report needs from one run folder; optional files are ``None``."""

    path: Path
    config: dict[str, Any]
    config_text: str
    metrics: dict[str, Any]
    equity: pd.DataFrame
    trades: pd.DataFrame
    oos: pd.DataFrame | None
    folds: pd.DataFrame | None
    importance: pd.DataFrame | None
    validation: Any

    @property
    def name(self) -> str:
        """Return the run's name from its config, else the folder name."""

        return str(self.config.get("name") or final_name(self.path))

    @property
    def has_ml(self) -> bool:
        """Return True when the run carries model diagnostics."""
        return self.oos is not None or self.folds is not None or "ml" in self.metrics


def load_run(run_dir: Path | str) -> RunFolder:
    """Load ``run_dir``; raise ConfigError if it is not a run folder, DataError if a file is bad."""
    path = Path(run_dir)
    if not (path / "metrics.json").is_file():
        raise ConfigError(str(run_dir), "not a run folder (no metrics.json)")
    if not (path / "equity.csv").is_file():
        raise ConfigError(str(run_dir), "not a run folder (no equity.csv)")
    config_text = _read_text(path / "config.yaml")
    return RunFolder(
        path=path,
        config=_parse_yaml(path / "config.yaml", config_text),
        config_text=config_text,
        metrics=_read_json(path / "metrics.json") or {},
        equity=_read_equity(path / "equity.csv"),
        trades=_read_trades(path / "trades.csv"),
        oos=_read_optional(path / "oos_predictions.csv", OOS_COLUMNS, ("timestamp",)),
        folds=_read_optional(path / "folds.csv", FOLD_COLUMNS, ("test_start", "test_end")),
        importance=_read_optional(path / "feature_importance.csv", IMPORTANCE_COLUMNS, ()),
        validation=_read_json(path / "data_validation.json"),
    )


def _read_text(file: Path) -> str:
    return file.read_text(encoding="utf-8") if file.is_file() else ""


def _parse_yaml(file: Path, text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) if text else {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise DataError(f"{file}:{line}", f"not valid YAML ({getattr(e, 'problem', e)})") from e
    return data if isinstance(data, dict) else {}


def _read_json(file: Path) -> Any:
    if not file.is_file():
        return None
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"{file}:{e.lineno}", f"not valid JSON ({e.msg})") from e


def _read_csv(file: Path, required: tuple[str, ...], time_cols: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(file)
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=list(required))
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise DataError(f"{file}:1", f"unreadable CSV ({e})") from e
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(f"{file}:1", f"missing column(s) {', '.join(missing)}")
    for col in time_cols:
        frame[col] = _parse_times(frame[col], file, col)
    return frame


def _parse_times(values: pd.Series, file: Path, col: str) -> pd.Series:
    """Parse ISO timestamps to naive UTC; name the first bad row on failure."""
    try:
        parsed = pd.to_datetime(values, utc=True, format="ISO8601")
    except (ValueError, TypeError):
        parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
    bad = parsed.isna() & values.notna() & (values.astype(str).str.strip() != "")
    if bad.any():
        row = int(bad.to_numpy().argmax()) + 2
        raise DataError(f"{file}:{row}", f"unparseable {col} {values[bad].iloc[0]!r}")
    return parsed.dt.tz_localize(None)


def _read_equity(file: Path) -> pd.DataFrame:
    frame = _read_csv(file, EQUITY_COLUMNS, ("timestamp",))
    if frame.empty:
        raise DataError(f"{file}:2", "no rows")
    frame = frame.set_index("timestamp").sort_index()
    for col in ("equity", "cash", "exposure", "benchmark"):
        if col in frame.columns:
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame


def _read_trades(file: Path) -> pd.DataFrame:
    if not file.is_file():
        return pd.DataFrame(columns=[*TRADE_COLUMNS, "slippage", "entry_prob", "borrow"])
    frame = _read_csv(file, TRADE_COLUMNS, ("entry_time", "exit_time"))
    for col in ("slippage", "entry_prob", "borrow"):
        if col not in frame.columns:
            frame[col] = float("nan")
    numeric = (
        "size",
        "entry_price",
        "exit_price",
        "pnl",
        "pnl_net",
        "commission",
        "slippage",
        "entry_prob",
        "borrow",
    )
    for col in numeric:
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    frame["symbol"] = frame["symbol"].astype(str)
    return frame.sort_values("exit_time", kind="stable").reset_index(drop=True)


def _read_optional(file: Path, required: tuple[str, ...], time_cols: tuple[str, ...]) -> pd.DataFrame | None:
    if not file.is_file():
        return None
    frame = _read_csv(file, required, time_cols)
    return frame if not frame.empty else None
