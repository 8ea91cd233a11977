#!/usr/bin/env python
"""Benchmark: Optuna trials per minute of bot.research.tune on daily equities.

Runs ``--trials`` trials (default 10) of the tuner on config/backtest/ml_daily.yaml's data
($MARKET_DATA_DIR, default ../shared/data) with a fresh SQLite study in a temporary folder,
the default search space of ``--model`` and median pruning, then prints trials per minute, how
many were pruned, and the trial count the deflated Sharpe ratio would use.

    python bench/bench_tuning.py [--trials 10] [--model xgboost] [--symbols 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, SYMBOLS_20, require_data_dir  # noqa: E402  (first: puts the repo on sys.path)
from loguru import logger  # noqa: E402

from bot.configure import load_config  # noqa: E402
from bot.research.evaluate import evaluate_bars  # noqa: E402
from bot.research.tune import counted_trials, deflation_inputs, tune  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--model", default="xgboost")
    ap.add_argument(
        "--symbols",
        type=int,
        choices=[8, 20],
        default=8,
        help="8: ml_daily's symbols 2010-2024; 20: bench_backtest's symbols 2006-2020",
    )
    args = ap.parse_args()
    logger.remove()
    data_dir = require_data_dir()
    if data_dir is None:
        return 2
    sets = [f"data.path={data_dir / 'equities' / 'daily'}", f"model.type={args.model}", "model.params={}"]
    if args.symbols == 20:
        sets += [f"data.symbols=[{','.join(SYMBOLS_20)}]", "data.start=2006-01-01", "data.end=2020-12-31"]
    cfg = load_config(ROOT / "config" / "backtest" / "ml_daily.yaml", sets)
    bars = evaluate_bars(cfg)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        study = tune(cfg, args.trials, Path(tmp), bars=bars)
        sec = time.perf_counter() - t0
        counted = counted_trials(study)
        pruned = sum(t.value is None for t in counted)
        n = deflation_inputs(study, cfg)["n_trials"]
    print(
        f"{args.model} on {len(bars)} symbols ({sum(len(d) for d in bars.values())} symbol-bars), metric "
        f"{cfg.tuning.metric}, storage sqlite"
    )
    print(
        f"{args.trials} trials in {sec:.1f} s -> {args.trials / sec * 60:.2f} trials/minute "
        f"({pruned} pruned); best {study.best_value:.5f}; {n} trials counted for the deflated Sharpe ratio"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
