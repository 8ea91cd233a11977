#!/usr/bin/env python
"""Check that engine changes leave run folders byte-identical.

Runs a fixed list of configs (sample data, and real data from $MARKET_DATA_DIR kept small with
--set overrides) through run_backtest.py and either stores the run folders (--write) or compares
them with stored ones (--check): every CSV, config.yaml and data_validation.json byte for byte,
metrics.json apart from ``timings`` and ``code_version``. Run it from a snapshot of the code
(``git archive``) when you keep editing, or runs started later import the edited files.

    python bench/runs_identical.py --write /tmp/ref      # with the code before a change
    python bench/runs_identical.py --check /tmp/ref      # after it; exit 1 on any difference
    python bench/runs_identical.py --check /tmp/ref --only quickstart,channel_breakout
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, data_dir

SMALL_ML = ["model.params={n_estimators: 40}", "validation.train=504", "validation.test=126"]
REAL = ["data.symbols=[SPY, AAPL, MSFT, JPM, XOM]", "data.start=2012-01-01", "data.end=2018-12-31", *SMALL_ML]

# name -> (config, overrides, needs real data)
CASES: dict[str, tuple[str, list[str], bool]] = {
    "quickstart": ("config/backtest/quickstart.yaml", [], False),
    "quickstart_shorts_trail_frac": (
        "config/backtest/quickstart.yaml",
        [
            "strategy.params.allow_short=true",
            "risk.trailing_stop=0.04",
            "risk.take_profit=null",
            "broker.fractional=true",
            "broker.short_fee=0.01",
        ],
        False,
    ),
    "quickstart_halts": (
        "config/backtest/quickstart.yaml",
        [
            "risk.max_drawdown_halt=0.03",
            "risk.max_daily_loss=0.01",
            "risk.flatten_on_halt=true",
            "strategy.params.allow_short=true",
            "risk.stop_loss=null",
        ],
        False,
    ),
    "quickstart_plain_orders": (
        "config/backtest/quickstart.yaml",
        ["risk.stop_loss=null", "risk.take_profit=null", "risk.max_drawdown_halt=null"],
        False,
    ),
    "channel_breakout": ("config/examples/channel_breakout.yaml", [], False),
    "channel_breakout_trail": (
        "config/examples/channel_breakout.yaml",
        ["risk.trailing_stop=0.03", "risk.stop_loss=null", "broker.fractional=true"],
        False,
    ),
    "ml_custom_feature": ("config/examples/ml_custom_feature.yaml", [], False),
    "momentum_rotation": ("config/examples/momentum_rotation.yaml", [], False),
    "momentum_rotation_shorts": (
        "config/examples/momentum_rotation.yaml",
        [
            "strategy.params.bottom_k=1",
            "broker.short_fee=0.02",
            "risk.max_drawdown_halt=0.05",
            "risk.flatten_on_halt=true",
        ],
        False,
    ),
    "sma_cross": ("config/backtest/sma_cross.yaml", [], True),
    "ml_daily": ("config/backtest/ml_daily.yaml", REAL, True),
    "ml_daily_shorts": (
        "config/backtest/ml_daily.yaml",
        [
            *REAL,
            "strategy.params.allow_short=true",
            "broker.short_fee=0.005",
            "risk.trailing_stop=0.05",
            "risk.stop_loss=null",
            "risk.max_daily_loss=0.02",
        ],
        True,
    ),
    "ml_rank_daily": (
        "config/backtest/ml_rank_daily.yaml",
        [
            "data.symbols=[SPY, AAPL, MSFT, JPM, XOM, KO, IBM, INTC]",
            "data.start=2012-01-01",
            "data.end=2018-12-31",
            "tuning.n_trials=1",
            *SMALL_ML,
        ],
        True,
    ),
}

BYTE_FILES = (
    "trades.csv",
    "orders.csv",
    "equity.csv",
    "signals.csv",
    "oos_predictions.csv",
    "folds.csv",
    "feature_importance.csv",
    "config.yaml",
    "data_validation.json",
)
VOLATILE = ("timings", "code_version")


def run_case(name: str, out: Path) -> float:
    cfg, sets, _ = CASES[name]
    cmd = [sys.executable, str(ROOT / "run_backtest.py"), "--config", str(ROOT / cfg), "-q", "--out", str(out)]
    for s in sets:
        cmd += ["--set", s]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        tail = proc.stderr.strip()[-2000:]
        raise SystemExit(f"{name}: run_backtest.py failed ({proc.returncode}): {tail}")
    return time.perf_counter() - t0


def metrics(path: Path) -> dict:
    m = json.loads(path.read_text())
    return {k: v for k, v in m.items() if k not in VOLATILE}


def content(path: Path, root: str) -> bytes:
    """Return the file's bytes; in config.yaml the checkout's path (plugin paths) as <ROOT>."""
    data = path.read_bytes()
    return data.replace(root.encode(), b"<ROOT>") if path.name == "config.yaml" else data


def differences(ref: Path, new: Path) -> list[str]:
    out = []
    ref_root = (ref / "ROOT").read_text() if (ref / "ROOT").exists() else str(ROOT)
    for f in BYTE_FILES:
        a, b = ref / f, new / f
        if a.exists() != b.exists():
            out.append(f"{f}: present in {'reference' if a.exists() else 'new run'} only")
        elif a.exists() and content(a, ref_root) != content(b, str(ROOT)):
            out.append(f"{f}: bytes differ")
    if metrics(ref / "metrics.json") != metrics(new / "metrics.json"):
        out.append("metrics.json: differs (apart from timings/code_version)")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, help="store reference run folders here")
    mode.add_argument("--check", type=Path, help="compare with reference run folders stored here")
    ap.add_argument("--only", help="comma-separated case names (default: all)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/runs_identical_new"), help="where --check runs go")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(CASES)}", file=sys.stderr)
        return 2
    if any(CASES[n][2] for n in names) and not data_dir().is_dir():
        print(f"no market data at {data_dir()}; set MARKET_DATA_DIR", file=sys.stderr)
        return 2
    base = args.write or args.work
    failed = 0
    for n in names:
        out = base / n
        if out.exists():
            subprocess.run(["rm", "-rf", str(out)], check=True)
        secs = run_case(n, out)
        if args.write:
            (out / "ROOT").write_text(str(ROOT))  # the checkout that wrote it (for config.yaml)
            print(f"{n:30s} written ({secs:5.1f} s)", flush=True)
            continue
        diff = differences(args.check / n, out)
        failed += bool(diff)
        verdict = "IDENTICAL" if not diff else "DIFFERENT: " + "; ".join(diff)
        print(f"{n:30s} {verdict} ({secs:5.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
