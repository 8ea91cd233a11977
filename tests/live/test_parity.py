"""Backtest <-> live parity: the same config, strategy class and model over the same bars give the
same orders (ids, sides, sizes, decision bars, fill bars and fill prices) in a backtest
(``run_backtest``) and in a paper live session fed those bars one close at a time.

The live session warms up on the backtest's first training window, so the model it trains at
start-up is the model of the backtest's (single) walk-forward fold.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from bot.backtest import run_backtest
from bot.configure import parse_config
from bot.data.loading import load_data
from bot.live.connect import connect
from bot.live.journal import Journal
from bot.live.session import run_session

COLUMNS = [
    "order_id",
    "created",
    "symbol",
    "side",
    "size",
    "type",
    "status",
    "fill_time",
    "fill_price",
    "commission",
    "reason",
]


def config(tmp_path, **over) -> dict:
    raw = dict(
        name="parity",
        seed=7,
        data=dict(source="sample", symbols=["PA", "PB"], start="2020-01-01", end="2020-12-31"),
        broker=dict(cash=100_000, commission=0.001, slippage=0.0005, kind="paper"),
        live=dict(state_db=f"sqlite:///{tmp_path / 'parity.db'}", poll_seconds=0, paper_data="replay"),
        registry=dict(log_training=False),  # MLflow logging of the start-up model: tests/lifecycle/test_live_session.py
    )
    for key, value in over.items():
        raw[key] = value
    return raw


def live_session(cfg):
    journal = Journal(cfg.live.state_db)
    stop = threading.Event()
    conn = connect(cfg, journal, stop, cfg.live.warmup_bars)
    result = run_session(cfg, conn.venue, journal, wait=conn.wait, stop=stop)
    return result, journal


def compare_orders(backtest: pd.DataFrame, live: pd.DataFrame) -> None:
    first = live["created"].min()
    b = backtest[backtest["created"] >= first][COLUMNS].reset_index(drop=True)
    lv = live[COLUMNS].reset_index(drop=True)
    assert len(lv) >= 6, "the scenario should trade"
    exact = ["order_id", "created", "symbol", "side", "type", "status", "fill_time", "reason"]
    pd.testing.assert_frame_equal(lv[exact], b[exact])
    for col in ("size", "fill_price", "commission"):
        np.testing.assert_allclose(
            lv[col].fillna(-1).to_numpy(float), b[col].fillna(-1).to_numpy(float), rtol=1e-9, err_msg=col
        )


def test_ml_strategy_orders_match_the_backtest(tmp_path) -> None:
    raw = config(
        tmp_path,
        strategy=dict(name="ml_signal", params=dict(entry_threshold=0.5, exit_threshold=0.5)),
        model=dict(type="logistic", features="starter", calibration="sigmoid"),
        validation=dict(train=150, test=400, embargo=3),
        risk=dict(sizing="fixed_fraction", fraction=0.3, max_position=0.4, stop_loss=0.03, take_profit=0.04),
    )
    raw["live"]["warmup_bars"] = 150
    cfg = parse_config(raw)
    bt = run_backtest(cfg)
    assert len(bt.walk_forward.folds) == 1  # one model for the whole test window, like the live session
    live, journal = live_session(cfg)
    compare_orders(bt.ledger.orders_frame(), live.ledger.orders_frame())
    reasons = set(live.ledger.orders_frame()["reason"])
    assert {"entry", "signal"} <= reasons or {"entry", "stop_loss"} <= reasons
    # the signal the live session journaled at each bar is the backtest's out-of-sample P(up)
    sig = journal.signals().set_index(["timestamp", "symbol"])["prob_up"]
    pred = bt.walk_forward.predictions.set_index(["timestamp", "symbol"])["prob_up"]
    np.testing.assert_allclose(sig.to_numpy(), pred.reindex(sig.index).to_numpy(), rtol=1e-9)
    assert (
        live.model_version
        and journal.get_order(live.ledger.orders_frame()["order_id"][0]).model_version == live.model_version
    )
    assert journal.sessions()[-1]["model_version"] == live.model_version


@pytest.mark.parametrize("exits", [dict(stop_loss=0.04, take_profit=0.06), dict(trailing_stop=0.03)])
def test_rule_strategy_with_bracket_exits_matches_the_backtest(tmp_path, exits) -> None:
    raw = config(
        tmp_path,
        strategy=dict(name="sma_cross", params=dict(fast=3, slow=8)),
        risk=dict(sizing="fixed_fraction", fraction=0.4, max_position=0.5, **exits),
    )
    raw["data"]["end"] = "2020-08-31"
    raw["live"]["warmup_bars"] = 8  # no crossing can happen inside the warm-up
    cfg = parse_config(raw)
    bt = run_backtest(cfg)
    live, _ = live_session(cfg)
    compare_orders(bt.ledger.orders_frame(), live.ledger.orders_frame())
    exit_kind = "trailing_stop" if "trailing_stop" in exits else "stop_loss"
    assert (live.ledger.orders_frame()["reason"] == exit_kind).any()
    b_trades, l_trades = bt.ledger.trades_frame(), live.ledger.trades_frame()
    assert list(l_trades["exit_reason"]) == list(b_trades["exit_reason"])
    np.testing.assert_allclose(l_trades["pnl_net"], b_trades["pnl_net"], rtol=1e-9)
    bars, _ = load_data(cfg)
    assert live.bars == len(bars["PA"]) - 8
