"""Small configs and run helpers for backtest tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.config import apply_override
from bot.configure import parse_config

ROOT = Path(__file__).resolve().parents[2]


def small_ml_config(**sets):
    """Return a fast ML config on sample data (3 symbols, ~3 years, 1-year train windows)."""
    raw = {
        "name": "small-ml",
        "seed": 7,
        "data": {"source": "sample", "symbols": ["AAA", "BBB", "CCC"], "start": "2015-01-01", "end": "2017-12-31"},
        "strategy": {"name": "ml_signal", "params": {"entry_threshold": 0.51}},
        "model": {"type": "xgboost", "params": {"n_estimators": 30}, "calibration": "none"},
        "validation": {"train": 252, "test": 42, "embargo": 2},
        "risk": {"sizing": "kelly", "fraction": 1.0, "max_position": 0.3, "stop_loss": 0.05, "take_profit": 0.08},
    }
    for key, value in sets.items():
        raw = apply_override(raw, f"{key.replace('__', '.')}={value}")
    return parse_config(raw)


def run_cli(*args: str, cwd: Path = ROOT, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run run_backtest.py in a subprocess and capture its output."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run_backtest.py"), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def small_rank_config(**sets):
    """Return a fast ml_rank config on sample data: 4 symbols, top 1 long / bottom 1 short, weekly rebalance."""
    base = dict(
        strategy__name="ml_rank",
        strategy__params="{long_k: 1, short_k: 1, vol_lookback: 20}",
        model__label="excess_return",
        model__horizon="5",
        risk__sizing="fixed_fraction",
        risk__stop_loss="null",
        risk__take_profit="null",
        data__symbols="[AAA, BBB, CCC, DDD]",
    )
    base.update(sets)
    return small_ml_config(**base)
