"""Parity checks of the vector engine against Backtrader: random cases and a frame-by-frame comparison.

Used by tests/engine/test_vector_parity.py (a fast tier) and bench/bench_vector_parity.py (many seeds).
A random case draws synthetic OHLC bars with opening gaps for several symbols starting (and some ending)
on different dates, random signals, and a random config: stop-loss / take-profit / trailing stop,
sizing, fractions, halts (incl. flatten), shorts, fractional sizes, commission, slippage, tick, borrow fee.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.config import Config
from bot.configure import parse_config
from bot.ledger import Ledger
from strategies import build_strategy
from strategies.base import Strategy

TOL = 1e-9


@dataclass
class Case:
    config: Config
    bars: dict[str, pd.DataFrame]
    signals: dict[str, pd.DataFrame]
    strategy: Strategy  # ml_signal or sma_cross: both engines run it
    fractional: bool


def _bars(rng: np.random.Generator, n: int, start: pd.Timestamp, freq: str) -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq=freq, tz="UTC")
    r = rng.normal(0, rng.uniform(0.005, 0.03), n)
    gaps = rng.random(n) < 0.1
    r = r + gaps * rng.normal(0, 0.05, n)
    close = rng.uniform(0.5, 200) * np.exp(np.cumsum(r))
    if rng.random() < 0.5:
        close = np.maximum(np.round(close, 2), 0.01)
    opn = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.01, n) + gaps * rng.normal(0, 0.04, n))
    if rng.random() < 0.5:
        opn = np.maximum(np.round(opn, 2), 0.01)
    hi = np.maximum(opn, close) * (1 + np.abs(rng.normal(0, 0.01, n)))
    lo = np.minimum(opn, close) * (1 - np.abs(rng.normal(0, 0.01, n)))
    return pd.DataFrame(
        {"open": opn, "high": hi, "low": lo, "close": close, "volume": rng.uniform(1e3, 1e6, n)},
        index=idx,
    )


def random_case(seed: int) -> Case:
    """Return a random config, bars and signals (deterministic from ``seed``)."""
    rng = np.random.default_rng(seed)
    n_sym = int(rng.integers(1, 5))
    freq = "D" if rng.random() < 0.7 else "h"
    crypto = rng.random() < 0.3
    syms = [f"S{i}/USD" if crypto else f"S{i}" for i in range(n_sym)]
    strat = "ml_signal" if rng.random() < 0.7 else "sma_cross"
    t0 = pd.Timestamp("2020-01-01")
    bars = {}
    for s in syms:
        n = int(rng.integers(60, 260))
        start = t0 + pd.Timedelta(int(rng.integers(0, 40)), unit="D" if freq == "D" else "h")
        df = _bars(rng, n, start, freq)
        if rng.random() < 0.3:  # holes: this symbol misses some calendar steps
            df = df[rng.random(len(df)) > 0.15]
        bars[s] = df
    risk: dict = {
        "sizing": rng.choice(["kelly", "fixed_fraction"]) if strat == "ml_signal" else "fixed_fraction",
        "fraction": float(rng.choice([0.2, 0.5, 1.0])),
        "max_position": float(rng.choice([0.1, 0.3, 1.0])),
    }
    stop = rng.random()
    if stop < 0.35:
        risk["stop_loss"] = float(rng.uniform(0.005, 0.08))
    elif stop < 0.7:
        risk["trailing_stop"] = float(rng.uniform(0.005, 0.08))
        if rng.random() < 0.3:
            risk["stop_loss"] = 0.05
    if rng.random() < 0.6:
        risk["take_profit"] = float(rng.choice([rng.uniform(0.005, 0.1), 1.5]))
    if rng.random() < 0.3:
        risk["max_drawdown_halt"] = float(rng.uniform(0.01, 0.1))
    if rng.random() < 0.3:
        risk["max_daily_loss"] = float(rng.uniform(0.005, 0.05))
    if rng.random() < 0.5:
        risk["flatten_on_halt"] = True
    broker = {
        "cash": float(rng.choice([1e3, 1e5])),
        "commission": float(rng.choice([0.0, 0.001, 0.01])),
        "slippage": float(rng.choice([0.0, 0.0005, 0.01])),
        "fractional": bool(rng.random() < 0.4),
        "short_fee": float(rng.choice([0.0, 0.02, 0.5])),
        "price_increment": rng.choice(np.array(["auto", None, 0.05, 0.01], dtype=object)),
    }
    if strat == "ml_signal":
        entry = float(rng.choice([0.5, 0.52, 0.55, 0.6]))
        params = {
            "entry_threshold": entry,
            "exit_threshold": float(min(entry, rng.choice([0.45, 0.5, 0.52]))),
            "payoff_lookback": 20,
            "allow_short": bool(rng.random() < 0.5),
        }
    else:
        fast = int(rng.integers(2, 8))
        params = {"fast": fast, "slow": fast + int(rng.integers(1, 15))}
    raw = {
        "name": f"parity-{seed}",
        "seed": seed,
        "data": {"source": "sample", "symbols": syms, "timeframe": "1d" if freq == "D" else "1h"},
        "strategy": {"name": strat, "params": params},
        "broker": broker,
        "risk": risk,
        "backtest": {"engine": "vector"},
    }
    cfg = parse_config(raw)
    strategy = build_strategy(cfg)
    signals = {}
    for s, df in bars.items():
        prob = None
        if strat == "ml_signal":
            p = np.clip(0.5 + rng.normal(0, 0.06, len(df)), 0.01, 0.99)
            if rng.random() < 0.5:
                p = np.round(p, 2)  # values exactly on the thresholds
            p[: int(rng.integers(0, 30))] = np.nan
            prob = pd.Series(p, index=df.index)
        signals[s] = strategy.compute_signals(df, prob)
    return Case(cfg, bars, signals, strategy, bool(cfg.broker.fractional))


def _missing(x) -> bool:
    return x is None or (not isinstance(x, str) and bool(pd.isna(x)))


def _close(a, b) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    if isinstance(a, (int, float, np.floating)) and isinstance(b, (int, float, np.floating)):
        return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))
    return a == b


def frame_diffs(name: str, a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Return the differences between two frames (row count, then cell by cell with a 1e-9 tolerance)."""
    if list(a.columns) != list(b.columns):
        return [f"{name}: columns {list(a.columns)} != {list(b.columns)}"]
    if len(a) != len(b):
        return [f"{name}: {len(a)} rows != {len(b)} rows"]
    out = []
    for i, (ra, rb) in enumerate(zip(a.itertuples(index=False), b.itertuples(index=False), strict=True)):
        for col, x, y in zip(a.columns, ra, rb, strict=True):
            if not _close(x, y):
                out.append(f"{name} row {i} {col}: {x!r} != {y!r}")
                if len(out) > 5:
                    return out
    return out


def ledger_diffs(bt: Ledger, vec: Ledger) -> list[str]:
    """Return every difference between the Backtrader and vector ledgers (trades, orders, equity)."""
    return (
        frame_diffs("trades", bt.trades_frame(), vec.trades_frame())
        + frame_diffs("orders", bt.orders_frame(), vec.orders_frame())
        + frame_diffs("equity", bt.equity_frame(), vec.equity_frame())
    )


def check_case(case: Case) -> list[str]:
    """Run both engines on a case; return the differences (empty: trade-for-trade parity)."""
    from bot.engine.simulate import simulate_backtrader
    from bot.engine.vector import simulate_vector

    a, cal_a = simulate_backtrader(case.config, case.bars, case.signals, case.strategy, case.fractional)
    b, cal_b = simulate_vector(case.config, case.bars, case.signals, case.strategy, case.fractional)
    out = ledger_diffs(a, b)
    if not cal_a.equals(cal_b):
        out.append("calendars differ")
    return out
