#!/usr/bin/env python
"""Benchmark: strategy-optimiser trials per minute, backtest.engine backtrader vs vector.

Uses the 20 daily equity symbols of $MARKET_DATA_DIR (default ../shared/data), 2006-2020, as
bench_backtest.py does. Each repeat runs --trials Optuna trials of bot.research.optimize's search
(signals + simulation per trial) for each engine, in one process; prints the median trials per
minute of each engine and their ratio. With --strategy ml_signal the walk-forward predictions are
computed once first (timed separately, as the optimiser does).

    python bench/bench_optimize.py [--trials 4] [--repeats 3] [--strategy sma_cross|ml_signal]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time

from bench_backtest import config  # noqa: E402  (puts the repo on sys.path through common)
from common import require_data_dir  # noqa: E402
from loguru import logger  # noqa: E402

from bot.configure import parse_config  # noqa: E402
from bot.data.loading import load_data  # noqa: E402
from bot.research.optimize import TrialScorer, search, trading_start  # noqa: E402

SPACES = {
    "sma_cross": {
        "strategy.params.fast": {"low": 5, "high": 40, "integer": True},
        "strategy.params.slow": {"low": 50, "high": 200, "integer": True},
        "risk.stop_loss": {"low": 0.02, "high": 0.2, "log": True},
    },
    "ml_signal": {
        "strategy.params.entry_threshold": {"low": 0.5, "high": 0.6},
        "strategy.params.exit_threshold": {"low": 0.4, "high": 0.5},
        "risk.stop_loss": {"low": 0.02, "high": 0.2, "log": True},
        "risk.fraction": {"low": 0.1, "high": 1.0},
    },
}


def optimize_config(strategy: str, engine: str, data_dir):
    raw = config(strategy, "xgboost", data_dir).model_dump(mode="json")
    raw["optimize"] = {"space": SPACES[strategy], "engine": engine, "segments": 5}
    return parse_config(raw)


def trials_per_minute(cfg, bars, prob_up, start, n_trials: int, repeats: int) -> list[float]:
    scorer = TrialScorer(cfg, bars, prob_up, start)
    space = dict(cfg.optimize.space)
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        runs = search(scorer, space, n_trials)
        out.append(len(runs) / (time.perf_counter() - t0) * 60)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--strategy", choices=sorted(SPACES), default="sma_cross")
    args = ap.parse_args()
    logger.remove()
    data_dir = require_data_dir()
    if data_dir is None:
        return 2
    base = optimize_config(args.strategy, "backtrader", data_dir)
    bars, _ = load_data(base)
    t0 = time.perf_counter()
    start, prob_up = trading_start(base, bars)
    predict = time.perf_counter() - t0
    n = sum(len(df) for df in bars.values())
    print(
        f"{args.strategy}: {len(bars)} symbols, {n} symbol-bars, trading from {start.date()}; "
        f"predictions once: {predict:.1f} s; {args.trials} trials x {args.repeats} repeats per engine"
    )
    medians = {}
    for engine in ("backtrader", "vector"):
        cfg = optimize_config(args.strategy, engine, data_dir)
        rates = trials_per_minute(cfg, bars, prob_up, start, args.trials, args.repeats)
        medians[engine] = statistics.median(rates)
        print(
            f"engine {engine:10}: median {medians[engine]:8.2f} trials/min "
            f"(runs: {', '.join(f'{r:.2f}' for r in rates)})"
        )
    print(f"ratio vector/backtrader: {medians['vector'] / medians['backtrader']:.2f}")
    if importlib.util.find_spec("bot.engine.vector") is None:
        print("note: this checkout has no bot/engine/vector.py: simulate() ran Backtrader for both engines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
