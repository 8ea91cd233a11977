"""The vector engine gives Backtrader's trades, orders and equity curve, trade for trade (1e-9).

(a) every shipped config whose strategy has a vector form, on the deterministic sample data (its symbols and
timeframe, long spans shortened), with a deterministic stand-in P(up) so the test stays fast (the simulator is
under test, not the model), and the whole pipeline with a walk-forward model on a small ML config;
(b) 50 random configs and seeds (bot/engine/parity.py); bench/bench_vector_parity.py runs many more.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from loguru import logger

from bot.backtest import compute_metrics, run_backtest
from bot.configure import load_config
from bot.data.loading import load_data
from bot.engine.parity import check_case, ledger_diffs, random_case
from bot.engine.simulate import simulate, simulate_backtrader
from bot.engine.vector import simulate_vector, unsupported_reason
from strategies import build_strategy
from tests.backtest.helpers import small_ml_config

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "config" / "backtest").glob("*.yaml")) + sorted((ROOT / "config" / "examples").glob("*.yaml"))
VECTOR = {"crypto_hourly", "ml_daily", "quickstart", "sma_cross"}


def _shipped(path: Path, *sets: str):
    return load_config(
        path,
        ["data.source=sample", "backtest.engine=vector", "registry.log_backtests=false", *sets],
    )


def test_the_shipped_configs_the_vector_engine_supports():
    supported = {p.stem for p in SHIPPED if unsupported_reason(build_strategy(_shipped(p))) is None}
    assert supported == VECTOR


def _stand_in_prob(bars: pd.DataFrame, seed: int) -> pd.Series:
    """A deterministic P(up) per bar (seeded noise around 0.5, NaN for the first 'training' bars)."""
    rng = np.random.default_rng(seed)
    p = np.clip(0.5 + rng.normal(0, 0.05, len(bars)), 0.01, 0.99)
    p[:100] = np.nan
    return pd.Series(p, index=bars.index)


@pytest.mark.parametrize("name", sorted(VECTOR))
def test_shipped_config_parity(name):
    short = {
        "crypto_hourly": "2020-03-31",
        "ml_daily": "2013-12-31",
        "sma_cross": "2014-12-31",
        "quickstart": "2019-12-31",
    }  # kept fast
    cfg = _shipped(ROOT / "config" / "backtest" / f"{name}.yaml", f"data.end={short[name]}")
    bars, _ = load_data(cfg)
    strategy = build_strategy(cfg)
    signals = {
        s: strategy.compute_signals(df, _stand_in_prob(df, i) if strategy.uses_model else None)
        for i, (s, df) in enumerate(bars.items())
    }
    fractional = cfg.broker.fractional if cfg.broker.fractional is not None else any("/" in s for s in bars)
    a, _ = simulate_backtrader(cfg, bars, signals, strategy, fractional)
    b, _ = simulate_vector(cfg, bars, signals, strategy, fractional)
    assert len(a.trades) > 5
    assert ledger_diffs(a, b) == []


def test_whole_pipeline_on_the_vector_engine():
    """run_backtest with a walk-forward model on the vector engine: every run-folder frame and the metrics
    equal Backtrader's on the same signals (a small ML config: the quickstart's model takes minutes)."""
    vec = run_backtest(small_ml_config(backtest__engine="vector", risk__trailing_stop="0.04"))
    ref_ledger, _ = simulate_backtrader(vec.config, vec.bars, vec.signals, vec.strategy, False)
    assert len(ref_ledger.trades) > 5
    assert ledger_diffs(ref_ledger, vec.ledger) == []
    ref = dataclasses.replace(vec, ledger=ref_ledger)
    ref_metrics = compute_metrics(ref)
    for key in ("total_return", "sharpe", "max_drawdown", "n_trades", "final_value"):
        if key in ref_metrics:
            assert vec.metrics[key] == pytest.approx(ref_metrics[key], rel=1e-9, abs=1e-12), key


def test_unsupported_strategies_fall_back_with_one_line():
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="INFO")
    try:
        cfg = _shipped(ROOT / "config" / "examples" / "channel_breakout.yaml", "data.end=2016-12-31")
        bars, _ = load_data(cfg)
        strategy = build_strategy(cfg)
        signals = {s: strategy.compute_signals(df, None) for s, df in bars.items()}
        a, _ = simulate(cfg, bars, signals, strategy, False)
        b, _ = simulate_backtrader(cfg, bars, signals, strategy, False)
    finally:
        logger.remove(sink)
    fallback = [m for m in lines if "runs on Backtrader" in m]
    assert len(fallback) == 1 and "ChannelBreakout" in fallback[0] and "vector_rules" in fallback[0]
    assert ledger_diffs(a, b) == [] and len(a.trades) > 0


def test_a_subclass_overriding_decide_is_not_vectorised():
    from strategies.ml_signal import MlSignalStrategy

    class Contrarian(MlSignalStrategy):
        def decide(self, view):
            return None

    cfg = _shipped(ROOT / "config" / "backtest" / "quickstart.yaml")
    s = Contrarian(MlSignalStrategy.Params(**cfg.strategy.params), cfg.risk, cfg.model)
    assert "Contrarian.decide overrides" in unsupported_reason(s)


@pytest.mark.parametrize("seed", range(50))
def test_random_case_parity(seed):
    assert check_case(random_case(seed)) == []


def test_the_random_tier_exercises_every_rule():
    """The 50 random cases reach every exit kind, shorts, halts, margin rejections and rejected children."""
    reasons, statuses, sides = set(), set(), set()
    for seed in range(50):
        case = random_case(seed)
        ledger, _ = simulate_vector(case.config, case.bars, case.signals, case.strategy, case.fractional)
        trades, orders = ledger.trades_frame(), ledger.orders_frame()
        reasons |= set(trades["exit_reason"])
        sides |= set(trades["side"])
        statuses |= set(orders["status"] + ":" + orders["type"])
    assert {"signal", "stop_loss", "trailing_stop", "take_profit", "halt", "end"} <= reasons
    assert sides == {"long", "short"}
    assert {
        "rejected_margin:market",
        "rejected:stop",
        "canceled:limit",
        "filled:limit",
        "accepted:market",
    } <= statuses
