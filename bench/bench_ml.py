#!/usr/bin/env python
"""Benchmark: walk-forward training time of each model type on 20 daily equity symbols.

Uses $MARKET_DATA_DIR (default ../shared/data), the same 20 symbols and years as
bench/bench_backtest.py (2006-2020), horizon 5, 3-year rolling train windows, 63-bar tests, the
starter features and sigmoid calibration (the ml_daily defaults). Features and labels are built
once; each model type then runs the full walk-forward (fit + predict every fold). Prints seconds,
folds, predictions and the out-of-sample accuracy / AUC of each.

    python bench/bench_ml.py [--models xgboost,random_forest,...] [--calibration none] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from common import SYMBOLS_20, require_data_dir  # noqa: E402  (first: puts the repo on sys.path)
from loguru import logger  # noqa: E402

from bot.configure import parse_config  # noqa: E402
from bot.data.loading import load_data  # noqa: E402
from bot.ml.dataset import build_dataset  # noqa: E402
from bot.ml.walkforward import validate_dataset  # noqa: E402

SYMBOLS = SYMBOLS_20
MODELS = ["logistic", "xgboost", "random_forest", "hist_gb", "ensemble", "stacking"]


def config(model: str, data_dir: Path, calibration: str):
    return parse_config(
        {
            "name": f"bench-ml-{model}",
            "seed": 1,
            "data": {
                "source": "csv",
                "path": str(data_dir / "equities" / "daily"),
                "symbols": SYMBOLS,
                "start": "2006-01-01",
                "end": "2020-12-31",
            },
            "model": {"type": model, "horizon": 5, "calibration": calibration},
            "validation": {"train": 756, "test": 63, "embargo": 5},
        }
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--calibration", default="sigmoid", choices=["none", "sigmoid", "isotonic"])
    ap.add_argument("--repeats", type=int, default=1, help="runs per model; seconds are their median")
    args = ap.parse_args()
    logger.remove()
    data_dir = require_data_dir()
    if data_dir is None:
        return 2
    models = args.models.split(",")
    base = config(models[0], data_dir, args.calibration)
    loaded = load_data(base)
    bars = loaded[0] if isinstance(loaded, tuple) else loaded
    t0 = time.perf_counter()
    ds = build_dataset(bars, base)
    n = sum(len(df) for df in bars.values())
    print(
        f"symbols: {len(bars)}, symbol-bars: {n}, samples: {len(ds.frame)}, features: {len(ds.names)}, "
        f"dataset built in {time.perf_counter() - t0:.2f} s; calibration {args.calibration}"
    )
    print(f"seconds: median of {max(1, args.repeats)} run(s) per model")
    print(
        f"{'model':14} {'seconds':>8} {'folds':>6} {'predictions':>12} {'s/fold':>7} {'accuracy':>9} "
        f"{'baseline':>9} {'auc':>7}"
    )
    for model in models:
        cfg = config(model, data_dir, args.calibration)
        times = []
        for _ in range(max(1, args.repeats)):
            t0 = time.perf_counter()
            res = validate_dataset(ds, cfg, bars, log_folds=False)
            times.append(time.perf_counter() - t0)
        sec = statistics.median(times)
        m, k = res.metrics, len(res.folds)
        print(
            f"{model:14} {sec:8.1f} {k:6d} {m['n_predictions']:12d} {sec / max(k, 1):7.2f} {m['accuracy']:9.4f} "
            f"{m['baseline_accuracy']:9.4f} {m['roc_auc']:7.4f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
