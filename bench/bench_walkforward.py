#!/usr/bin/env python
"""Benchmark: wall time of the walk-forward ML backtest, cold (training) and warm (prediction cache).

Uses bench_backtest.py's config (20 daily equities of $MARKET_DATA_DIR, 2006-2020, xgboost, horizon 5).
In one process, medians of --repeats runs of run_backtest (data loading included):

- cold, validation.n_jobs=1 and n_jobs=-1: the cache disabled, every fold trained;
- warm: a strategy-only change (strategy.params.entry_threshold) after a cached run, in a fresh cache folder.

Also checks that the n_jobs=-1 and warm runs' out-of-sample predictions equal the n_jobs=1 run's.

    python bench/bench_walkforward.py [--repeats 3] [--model xgboost]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from bench_backtest import config  # noqa: E402
from common import require_data_dir  # noqa: E402  (first: puts the repo on sys.path)
from loguru import logger  # noqa: E402

from bot.backtest import run_backtest  # noqa: E402
from bot.config import apply_override  # noqa: E402
from bot.configure import parse_config  # noqa: E402
from bot.data.loading import load_data  # noqa: E402
from bot.ml.cache import ENV_DIR  # noqa: E402

TARGET_COLD, TARGET_WARM = 20.0, 5.0  # seconds (issue 13)


def with_sets(cfg, *sets: str):
    raw = cfg.model_dump(mode="json")
    for s in sets:
        raw = apply_override(raw, s)
    return parse_config(raw)


def timed(cfg, bars, repeats: int, use_cache: bool, before=None):
    times, result = [], None
    for _ in range(repeats):
        if before:
            before()
        t0 = time.perf_counter()
        result = run_backtest(cfg, dict(bars), use_cache=use_cache)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default="xgboost")
    args = ap.parse_args()
    logger.remove()
    data_dir = require_data_dir()
    if data_dir is None:
        return 2
    base = config("ml_signal", args.model, data_dir)
    bars, _ = load_data(base)
    os.environ[ENV_DIR] = tempfile.mkdtemp(prefix="bench-wf-cache-")

    serial, serial_res = timed(with_sets(base, "validation.n_jobs=1"), bars, args.repeats, use_cache=False)
    par, par_res = timed(with_sets(base, "validation.n_jobs=-1"), bars, args.repeats, use_cache=False)
    run_backtest(base, dict(bars))  # fills the cache
    changed = with_sets(base, "strategy.params.entry_threshold=0.56")
    warm, warm_res = timed(changed, bars, args.repeats, use_cache=True)

    ref = serial_res.walk_forward.predictions
    same_par = par_res.walk_forward.predictions.equals(ref)
    same_warm = warm_res.walk_forward.predictions.equals(ref)
    t = serial_res.timings
    print(
        f"symbols {len(bars)}, folds {serial_res.metrics['ml']['n_folds']}, model {args.model}, "
        f"cores {os.cpu_count()}, repeats {args.repeats} (data loaded once, outside the timings)"
    )
    print(f"cold n_jobs=1  : median {serial:6.1f} s (train {t['train']:.1f} s, simulate {t['simulate']:.1f} s)")
    print(
        f"cold n_jobs=-1 : median {par:6.1f} s (train {par_res.timings['train']:.1f} s)  "
        f"speed-up x{serial / par:.2f}, predictions identical: {same_par}  "
        f"(target < {TARGET_COLD:.0f} s)"
    )
    print(
        f"warm (strategy-only change): median {warm:6.1f} s "
        f"(train step {warm_res.timings['train']:.2f} s)  "
        f"predictions identical: {same_warm}  (target < {TARGET_WARM:.0f} s)"
    )
    return 0 if same_par and same_warm else 1


if __name__ == "__main__":
    sys.exit(main())
