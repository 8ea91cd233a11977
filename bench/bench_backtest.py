#!/usr/bin/env python
"""Benchmark: simulation throughput of ml_signal vs sma_cross, and wall time of the full walk-forward run.

Uses 20 daily equity symbols of $MARKET_DATA_DIR (default ../shared/data), 2006-2020 (15 years).
Prints symbol-bars per second of the Backtrader simulation (median of --repeats runs) for both
strategies, their ratio, and the wall time of the ML run including data loading and training.

    python bench/bench_backtest.py [--repeats 3] [--model xgboost]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from common import SYMBOLS_20, require_data_dir  # noqa: E402  (first: puts the repo on sys.path)
from loguru import logger  # noqa: E402

from bot.backtest import run_backtest  # noqa: E402
from bot.configure import parse_config  # noqa: E402
from bot.data.loading import load_data  # noqa: E402
from bot.engine.simulate import simulate  # noqa: E402
from strategies import build_strategy  # noqa: E402

SYMBOLS = SYMBOLS_20


def config(strategy: str, model: str, data_dir: Path):
    raw = {
        "name": f"bench-{strategy}", "seed": 1,
        "data": {"source": "csv", "path": str(data_dir / "equities" / "daily"), "symbols": SYMBOLS,
                 "start": "2006-01-01", "end": "2020-12-31"},
        "strategy": {"name": strategy, "params": {"fast": 20, "slow": 50} if strategy == "sma_cross" else {}},
        "model": {"type": model, "horizon": 5},
        "validation": {"train": 756, "test": 63, "embargo": 5},
        "broker": {"cash": 1_000_000, "commission": 0.0005, "slippage": 0.0005},
        "risk": {"sizing": "fixed_fraction" if strategy == "sma_cross" else "kelly", "fraction": 0.5,
                 "max_position": 0.1, "stop_loss": 0.08, "take_profit": 0.15},
    }
    return parse_config(raw)


def sim_throughput(cfg, bars, signals, strategy, repeats: int) -> tuple[float, float]:
    n = sum(len(df) for df in bars.values())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        simulate(cfg, bars, signals, strategy, fractional=False)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return n / med, med


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default="xgboost")
    args = ap.parse_args()
    logger.remove()
    data_dir = require_data_dir()
    if data_dir is None:
        return 2

    sma_cfg = config("sma_cross", args.model, data_dir)
    bars, _ = load_data(sma_cfg)
    n = sum(len(df) for df in bars.values())
    sma = build_strategy(sma_cfg)
    sma_signals = {s: sma.compute_signals(df, None) for s, df in bars.items()}
    sma_tp, sma_t = sim_throughput(sma_cfg, bars, sma_signals, sma, args.repeats)

    ml_cfg = config("ml_signal", args.model, data_dir)
    t0 = time.perf_counter()
    res = run_backtest(ml_cfg)
    wall = time.perf_counter() - t0
    ml = build_strategy(ml_cfg)
    ml_tp, ml_t = sim_throughput(ml_cfg, res.bars, res.signals, ml, args.repeats)

    print(f"symbols: {len(bars)}, symbol-bars: {n}, calendar bars: {len(res.calendar)}, "
          f"span {res.calendar[0].date()} .. {res.calendar[-1].date()}")
    print(f"sma_cross simulation : median {sma_t:7.3f} s  -> {sma_tp:10,.0f} symbol-bars/s")
    print(f"ml_signal simulation : median {ml_t:7.3f} s  -> {ml_tp:10,.0f} symbol-bars/s")
    print(f"throughput ratio ml/sma: {ml_tp / sma_tp:.2f} (target >= 0.80)")
    t = res.timings
    print(f"ml walk-forward run ({args.model}), wall {wall:.1f} s: load {t['load']:.1f} s, "
          f"train {t['train']:.1f} s ({res.metrics['ml']['n_folds']} folds), simulate {t['simulate']:.1f} s "
          f"(target < 120 s)")
    ml_m = res.metrics["ml"]
    print(f"ml out of sample: accuracy {ml_m['accuracy']:.4f} vs baseline {ml_m['baseline_accuracy']:.4f}, "
          f"auc {ml_m['roc_auc']:.4f}, trades {res.metrics['n_trades']}, sharpe {res.metrics['sharpe']:.3f} "
          f"vs buy-and-hold {res.metrics['benchmark']['sharpe']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
