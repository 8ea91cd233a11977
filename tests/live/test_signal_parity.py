"""The batched signal path (all symbols in one wide computation) gives byte-identical signals.

A paper session computes each bar's features and signals for all symbols at once
(bot/features/wide.py, MlSignalStrategy.latest_signals). The same session with that path turned
off recomputes every symbol's features and signals over its whole history, one symbol at a time
(the reference). Both must journal the very same float64 values, and place the same orders.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

from bot.configure import parse_config
from bot.features import wide
from bot.live.connect import connect
from bot.live.journal import Journal
from bot.live.session import run_session, warmup_bars
from strategies import build_strategy

SYMBOLS = ["SA", "SB", "SC", "SD"]
TRADED = 25


def cfg_for(tmp_path, tag: str):
    return parse_config(
        {
            "name": "parity",
            "seed": 5,
            "data": {
                "source": "sample",
                "symbols": SYMBOLS,
                "timeframe": "1d",
                "start": "2016-01-01",
                "end": "2017-06-30",
            },
            "strategy": {"name": "ml_signal", "params": {"entry_threshold": 0.5, "exit_threshold": 0.5}},
            "model": {"type": "xgboost", "features": "starter"},
            "validation": {"train": 200, "embargo": 5},
            "broker": {"kind": "paper", "cash": 100_000, "commission": 0.001, "slippage": 0.0},
            "risk": {"sizing": "fixed_fraction", "fraction": 0.2, "max_position": 0.25},
            "live": {"paper_data": "replay", "poll_seconds": 0, "state_db": f"sqlite:///{tmp_path / tag}.db"},
            "registry": {"log_training": False, "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}"},
            "monitoring": {"enabled": False},
        }
    )


def session(tmp_path, batched: bool) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    tag = "batched" if batched else "full"
    cfg = cfg_for(tmp_path, tag)
    journal = Journal(cfg.live.state_db)
    stop = threading.Event()
    conn = connect(cfg, journal, stop, warmup_bars(cfg, build_strategy(cfg)))
    steps = {"n": 0}

    def wait(seconds: float) -> bool:
        steps["n"] += 1
        return steps["n"] < TRADED and conn.wait(seconds)

    before, wide.ENABLED = wide.ENABLED, batched
    try:
        live = run_session(cfg, conn.venue, journal, wait=wait, stop=stop)
    finally:
        wide.ENABLED = before
    orders = live.ledger.orders_frame()
    return journal.signals(), orders, live.model_version


def test_batched_signals_are_byte_identical_to_the_full_recomputation(tmp_path) -> None:
    sig_b, orders_b, version_b = session(tmp_path, batched=True)
    sig_f, orders_f, version_f = session(tmp_path, batched=False)
    assert version_b == version_f  # the same start-up model
    assert len(sig_b) == (TRADED - 1) * len(SYMBOLS)  # the first step needs no wait
    pd.testing.assert_frame_equal(sig_b[["timestamp", "symbol"]], sig_f[["timestamp", "symbol"]])
    for col in ("prob_up", "payoff", "bar_close"):
        a, b = sig_b[col].to_numpy(np.float64), sig_f[col].to_numpy(np.float64)
        assert np.array_equal(a.view(np.int64), b.view(np.int64)), col  # bit for bit, NaN included
    assert sig_b["prob_up"].notna().all() and sig_b["payoff"].notna().any()
    assert len(orders_b) > 0
    pd.testing.assert_frame_equal(orders_b.drop(columns=["order_id"]), orders_f.drop(columns=["order_id"]))
