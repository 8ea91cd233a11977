#!/usr/bin/env python
"""Benchmark: the vector engine's throughput against Backtrader on the 20-symbol universe, and peak memory.

Throughput (symbol-bars/s, median of --repeats runs in this process) on 20 daily equities of
$MARKET_DATA_DIR, 2006-2020, with bench/bench_backtest.py's configs (brackets: stop 8 %, take-profit 15 %):
sma_cross and ml_signal on the vector engine (whole simulate(): loop + Ledger; and the compiled loop
alone), the same configs on Backtrader, and a plain Backtrader SMA cross (bt.Strategy + bt.ind.SMA, no
adapter) on the same bars as the yardstick. Numba compile time (first call, cached on disk after the
first run in this checkout) is reported separately. ml_signal's P(up) is a seeded stand-in unless
--model is given (then the real walk-forward model is trained first, minutes). Parity is checked once.

Memory (--memory): a 500-symbol x 20-year daily backtest on the deterministic sample data (sma_cross
with brackets), each engine in its own subprocess: peak RSS (resource.getrusage) and the peak of Python
allocations (tracemalloc) of the simulation. Backtrader is skipped with --no-bt-memory.

    python bench/bench_vector.py [--repeats 5] [--model xgboost] [--memory] [--no-bt-memory]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from common import ROOT, SYMBOLS_20, require_data_dir  # noqa: E402,F401  (first: puts the repo on sys.path)
from loguru import logger  # noqa: E402

TARGET = 5_000_000


CPU: dict[int, float] = {}  # id(fn) -> median CPU seconds (the machine may be shared: wall time inflates)


def _median_time(fn, repeats: int) -> float:
    """Return the median wall time of ``fn`` (its median CPU time of this process goes to CPU)."""
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU[id(fn)] = statistics.median(cpu)
    return statistics.median(times)


def _timed(fn, repeats: int) -> tuple[float, float]:
    """(median wall s, median CPU s) of ``fn``."""
    wall = _median_time(fn, repeats)
    return wall, CPU[id(fn)]


def plain_bt_sma(bars: dict[str, pd.DataFrame], fast: int, slow: int, cash: float) -> None:
    """Backtrader on its own: an SMA cross per symbol, market orders of 100 shares, nothing else."""
    import backtrader as bt

    class Cross(bt.Strategy):
        def __init__(self):
            self.x = {
                d: bt.ind.CrossOver(bt.ind.SMA(d.close, period=fast), bt.ind.SMA(d.close, period=slow))
                for d in self.datas
            }

        def next(self):
            for d, x in self.x.items():
                if x[0] > 0 and not self.getposition(d).size:
                    self.buy(data=d, size=100)
                elif x[0] < 0 and self.getposition(d).size:
                    self.close(data=d)

    cerebro = bt.Cerebro(stdstats=False)
    for s, df in bars.items():
        d = df[["open", "high", "low", "close", "volume"]].copy()
        d.index = d.index.tz_localize(None) if d.index.tz is not None else d.index
        cerebro.adddata(bt.feeds.PandasData(dataname=d, openinterest=None), name=s)
    cerebro.broker.setcash(cash)
    cerebro.addstrategy(Cross)
    cerebro.run(maxcpus=1)


def stand_in_prob(df: pd.DataFrame, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    p = np.clip(0.5 + rng.normal(0, 0.05, len(df)), 0.01, 0.99)
    p[:756] = np.nan  # no prediction in the first training window
    return pd.Series(p, index=df.index)


def throughput(args) -> None:
    from bench_backtest import config

    from bot.backtest import run_backtest
    from bot.data.loading import load_data
    from bot.engine.parity import ledger_diffs
    from bot.engine.simulate import simulate_backtrader
    from bot.engine.vector import _core, prepare, run_core, simulate_vector
    from strategies import build_strategy

    data_dir = require_data_dir()
    if data_dir is None:
        raise SystemExit(2)
    sma_cfg = config("sma_cross", args.model or "xgboost", data_dir)
    bars, _ = load_data(sma_cfg)
    n = sum(len(df) for df in bars.values())
    print(f"symbols: {len(bars)}, symbol-bars: {n}")
    runs = {}
    ml_cfg = config("ml_signal", args.model or "xgboost", data_dir)
    if args.model:
        res = run_backtest(ml_cfg)
        ml_signals = res.signals
    else:
        ml = build_strategy(ml_cfg)
        ml_signals = {s: ml.compute_signals(df, stand_in_prob(df, i)) for i, (s, df) in enumerate(bars.items())}
    sma = build_strategy(sma_cfg)
    runs["sma_cross"] = (sma_cfg, sma, {s: sma.compute_signals(df, None) for s, df in bars.items()})
    runs["ml_signal"] = (ml_cfg, build_strategy(ml_cfg), ml_signals)

    t0 = time.perf_counter()
    cfg, strat, sig = runs["ml_signal"]
    run_core(cfg, bars, sig, strat, False)
    print(f"numba first call (compile or load from cache): {time.perf_counter() - t0:.2f} s (excluded below)")
    for name, (cfg, strat, sig) in runs.items():
        a, _ = simulate_backtrader(cfg, bars, sig, strat, False)
        b, _ = simulate_vector(cfg, bars, sig, strat, False)
        diffs = ledger_diffs(a, b)
        full, full_cpu = _timed(lambda: simulate_vector(cfg, bars, sig, strat, False), args.repeats)  # noqa: B023
        core, core_cpu = _timed(lambda: run_core(cfg, bars, sig, strat, False), args.repeats)  # noqa: B023
        loop_args = prepare(cfg, bars, sig, strat, False)[-1]
        loop, loop_cpu = _timed(lambda: _core(*loop_args), args.repeats)  # noqa: B023
        btt, bt_cpu = _timed(
            lambda: simulate_backtrader(cfg, bars, sig, strat, False),  # noqa: B023
            max(1, args.repeats // 2),
        )
        print(f"{name} ({len(a.trades)} trades, parity diffs {len(diffs)}), symbol-bars/s by wall (by CPU):")
        print(f"  vector simulate (loop + Ledger) {n / full:12,.0f} ({n / full_cpu:12,.0f})  {full * 1e3:8.1f} ms")
        print(f"  vector compiled loop + arrays   {n / core:12,.0f} ({n / core_cpu:12,.0f})  {core * 1e3:8.1f} ms")
        print(f"  vector compiled loop alone      {n / loop:12,.0f} ({n / loop_cpu:12,.0f})  {loop * 1e3:8.1f} ms")
        print(
            f"  Backtrader (adapter)            {n / btt:12,.0f} ({n / bt_cpu:12,.0f})  {btt * 1e3:8.1f} ms"
            f"  -> vector simulate is {btt / full:.0f}x faster (CPU {bt_cpu / full_cpu:.0f}x)"
        )
    plain, plain_cpu = _timed(lambda: plain_bt_sma(bars, 20, 50, 1_000_000), max(1, args.repeats // 2))
    print(f"plain Backtrader SMA cross (yardstick): {n / plain:,.0f} ({n / plain_cpu:,.0f}) symbol-bars/s")
    print(f"target: ml_signal with brackets >= {TARGET:,} symbol-bars/s")


MEMORY_CHILD = r"""
import json, resource, sys, time, tracemalloc
sys.path.insert(0, {root!r})
from loguru import logger
logger.remove()
import pandas as pd
from bot.configure import parse_config
from bot.data.sample import sample_bars
from strategies import build_strategy
engine = {engine!r}
syms = [f"S{{i:03d}}" for i in range(500)]
cfg = parse_config({{"name": "mem", "seed": 1, "data": {{"source": "sample", "symbols": syms}},
    "strategy": {{"name": "sma_cross", "params": {{"fast": 20, "slow": 50}}}},
    "broker": {{"cash": 10_000_000}}, "backtest": {{"engine": engine}},
    "risk": {{"sizing": "fixed_fraction", "fraction": 0.02, "max_position": 0.02, "stop_loss": 0.08,
             "take_profit": 0.15}}}})
lo, hi = pd.Timestamp("2000-01-01", tz="UTC"), pd.Timestamp("2019-12-31", tz="UTC")
bars = {{s: sample_bars(s, "1d", lo, hi, seed=1) for s in syms}}
strat = build_strategy(cfg)
signals = {{s: strat.compute_signals(df, None) for s, df in bars.items()}}
from bot.engine.simulate import simulate
if engine == "vector":
    simulate(cfg, dict(list(bars.items())[:2]), signals, strat, False)  # compile / load numba first
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
t0 = time.perf_counter()
ledger, cal = simulate(cfg, bars, signals, strat, False)
wall = time.perf_counter() - t0
_, traced = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(json.dumps(dict(engine=engine, symbol_bars=sum(len(d) for d in bars.values()), steps=len(cal),
    trades=len(ledger.trades), wall_s=wall, peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    rss_before_sim_mb=before / 1024, traced_peak_mb=traced / 2**20)))
"""


def memory(args) -> None:
    engines = ["vector"] + ([] if args.no_bt_memory else ["backtrader"])
    for engine in engines:
        code = MEMORY_CHILD.format(root=str(ROOT), engine=engine)
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=3600)
        if res.returncode != 0:
            print(f"{engine}: failed: {res.stderr.strip().splitlines()[-1:]}")
            continue
        m = json.loads(res.stdout.strip().splitlines()[-1])
        print(
            f"500 symbols x 20 years ({m['symbol_bars']:,} symbol-bars, {m['trades']} trades) on {engine}: "
            f"simulate {m['wall_s']:.1f} s, peak RSS {m['peak_rss_mb']:,.0f} MB (before simulate "
            f"{m['rss_before_sim_mb']:,.0f} MB), traced Python peak {m['traced_peak_mb']:,.0f} MB (target 4 GB)"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--model", default=None, help="train this model walk-forward for ml_signal's P(up)")
    ap.add_argument("--memory", action="store_true", help="also the 500 x 20-year peak-memory run")
    ap.add_argument("--no-bt-memory", action="store_true", help="skip Backtrader in the memory run")
    ap.add_argument("--only-memory", action="store_true")
    args = ap.parse_args()
    logger.remove()
    if not args.only_memory:
        throughput(args)
    if args.memory or args.only_memory:
        memory(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
