#!/usr/bin/env python
"""Benchmark: ml_signal and sma_cross simulation throughput vs plain Backtrader; walk-forward time.

Uses 20 daily equity symbols of $MARKET_DATA_DIR (default ../shared/data), 2006-2020 (15 years).
Prints symbol-bars per second (median of --repeats runs, the three simulations interleaved in each
repeat, all on the same bars) of: a textbook Backtrader SMA-cross strategy (bt.ind.SMA /
bt.ind.CrossOver, market orders, no adapter: the yardstick), the project's sma_cross and ml_signal
simulations (bot.engine.simulate.simulate), their ratios to the yardstick, and the wall time of the
ML run including data loading and training.

    python bench/bench_backtest.py [--repeats 3] [--model xgboost]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import backtrader as bt
from common import SYMBOLS_20, require_data_dir  # noqa: E402  (before bot: repo on sys.path)
from loguru import logger  # noqa: E402

from bot.backtest import run_backtest  # noqa: E402
from bot.configure import parse_config  # noqa: E402
from bot.engine.simulate import simulate  # noqa: E402
from strategies import build_strategy  # noqa: E402

SYMBOLS = SYMBOLS_20


def config(strategy: str, model: str, data_dir: Path):
    raw = {
        "name": f"bench-{strategy}",
        "seed": 1,
        "data": {
            "source": "csv",
            "path": str(data_dir / "equities" / "daily"),
            "symbols": SYMBOLS,
            "start": "2006-01-01",
            "end": "2020-12-31",
        },
        "strategy": {"name": strategy, "params": {"fast": 20, "slow": 50} if strategy == "sma_cross" else {}},
        "model": {"type": model, "horizon": 5},
        "validation": {"train": 756, "test": 63, "embargo": 5},
        "broker": {"cash": 1_000_000, "commission": 0.0005, "slippage": 0.0005},
        "risk": {
            "sizing": "fixed_fraction" if strategy == "sma_cross" else "kelly",
            "fraction": 0.5,
            "max_position": 0.1,
            "stop_loss": 0.08,
            "take_profit": 0.15,
        },
    }
    return parse_config(raw)


class PlainSmaCross(bt.Strategy):
    """The yardstick: SMA cross on every feed as a Backtrader user writes it (no adapter)."""

    params = (("fast", 20), ("slow", 50), ("fraction", 0.5), ("cost", 0.001))

    def __init__(self):
        p = self.p
        sma = bt.ind.SMA
        self.cross = {d: bt.ind.CrossOver(sma(d, period=p.fast), sma(d, period=p.slow)) for d in self.datas}
        self.orders = {}

    def notify_order(self, order):
        if not order.alive():
            self.orders.pop(order.data, None)

    def next(self):
        for d in self.datas:
            if d in self.orders or not len(d):
                continue
            pos = self.getposition(d).size
            if not pos and self.cross[d][0] > 0:
                value, cash = self.broker.getvalue(), self.broker.getcash()
                budget = min(self.p.fraction * value, cash / (1 + self.p.cost))
                size = math.floor(budget / d.close[0])
                if size > 0:
                    self.orders[d] = self.buy(data=d, size=size)
            elif pos and self.cross[d][0] < 0:
                self.orders[d] = self.close(data=d)


def plain_backtrader(cfg, bars) -> None:
    """Run the yardstick on ``bars`` with the same cash, commission and slippage as ``cfg``."""
    cerebro = bt.Cerebro(stdstats=False)
    for sym, df in bars.items():
        feed = df[["open", "high", "low", "close", "volume"]]
        if feed.index.tz is not None:
            feed = feed.tz_convert("UTC").tz_localize(None)
        cerebro.adddata(bt.feeds.PandasData(dataname=feed, openinterest=None), name=sym)
    b = cfg.broker
    cerebro.broker.setcash(b.cash)
    cerebro.broker.setcommission(commission=b.commission)
    cerebro.broker.set_slippage_perc(b.slippage, slip_open=True, slip_limit=True, slip_match=True, slip_out=False)
    p = cfg.strategy.params
    cerebro.addstrategy(
        PlainSmaCross, fast=p["fast"], slow=p["slow"], fraction=cfg.risk.fraction, cost=b.commission + b.slippage + 0.02
    )
    cerebro.run(maxcpus=1)


def timed(fn) -> tuple[float, float]:
    """Return the wall time and this process's CPU time of ``fn()``."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


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
    ml_cfg = config("ml_signal", args.model, data_dir)
    t0 = time.perf_counter()
    res = run_backtest(ml_cfg)
    wall = time.perf_counter() - t0
    bars = res.bars  # one set of bars for all three simulations
    n = sum(len(df) for df in bars.values())
    sma, ml = build_strategy(sma_cfg), build_strategy(ml_cfg)
    sma_signals = {s: sma.compute_signals(df, None) for s, df in bars.items()}
    runs = {
        "plain Backtrader SMA-cross": lambda: plain_backtrader(sma_cfg, bars),
        "sma_cross simulation": lambda: simulate(sma_cfg, bars, sma_signals, sma, fractional=False),
        "ml_signal simulation": lambda: simulate(ml_cfg, bars, res.signals, ml, fractional=False),
    }
    times: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(args.repeats):  # interleaved: a change of load on the machine hits all three
        for k, fn in runs.items():
            w, c = timed(fn)
            times[k].append(w)
            cpu[k].append(c)

    print(
        f"symbols: {len(bars)}, symbol-bars: {n}, calendar bars: {len(res.calendar)}, "
        f"span {res.calendar[0].date()} .. {res.calendar[-1].date()}, repeats: {args.repeats}"
    )
    med = {k: statistics.median(v) for k, v in times.items()}
    mcpu = {k: statistics.median(v) for k, v in cpu.items()}
    base = "plain Backtrader SMA-cross"
    for k in runs:  # CPU time too: on a loaded machine the wall time also measures the neighbours
        print(
            f"{k:27s}: median {med[k]:7.3f} s  -> {n / med[k]:10,.0f} symbol-bars/s"
            + ("" if k == base else f"  ({med[base] / med[k]:.2f}x plain Backtrader)")
            + f"; CPU {mcpu[k]:7.3f} s"
            + ("" if k == base else f" ({mcpu[base] / mcpu[k]:.2f}x)")
        )
    ml_ratio = med[base] / med["ml_signal simulation"]
    print(
        f"throughput ratio ml/plain: {ml_ratio:.2f} (target >= 1.0), "
        f"ml/sma_cross: {med['sma_cross simulation'] / med['ml_signal simulation']:.2f}"
    )
    t = res.timings
    print(
        f"ml walk-forward run ({args.model}), wall {wall:.1f} s: load {t['load']:.1f} s, "
        f"train {t['train']:.1f} s ({res.metrics['ml']['n_folds']} folds), simulate {t['simulate']:.1f} s "
        f"(target < 120 s)"
    )
    ml_m = res.metrics["ml"]
    print(
        f"ml out of sample: accuracy {ml_m['accuracy']:.4f} vs baseline {ml_m['baseline_accuracy']:.4f}, "
        f"auc {ml_m['roc_auc']:.4f}, trades {res.metrics['n_trades']}, sharpe {res.metrics['sharpe']:.3f} "
        f"vs buy-and-hold {res.metrics['benchmark']['sharpe']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
