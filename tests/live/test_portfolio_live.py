"""A portfolio strategy (ml_rank, long-only) in a paper live session replaying bars gives the backtest's orders.

Venues check cash when an order is sent, before the same rebalance's sells have filled, so live buys must be
paid from cash on hand: here max_gross 0.45 keeps every rotation within it (the backtest's broker credits the
pending sells; see README, Portfolio strategies).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.backtest import run_backtest
from bot.configure import parse_config
from bot.live.report import _fill_times, rebuild_trades
from tests.live.test_parity import compare_orders, config, live_session


def test_ml_rank_live_session_orders_match_the_backtest(tmp_path) -> None:
    raw = config(
        tmp_path,
        strategy=dict(name="ml_rank", params=dict(long_k=2, short_k=0, rebalance_every=5, vol_lookback=20)),
        model=dict(type="logistic", features="starter", calibration="none", label="excess_return", horizon=5),
        validation=dict(train=150, test=400, embargo=3),
        risk=dict(sizing="fixed_fraction", max_gross=0.45),
    )
    raw["data"]["symbols"] = ["PA", "PB", "PC"]
    raw["live"]["warmup_bars"] = 150
    cfg = parse_config(raw)
    bt = run_backtest(cfg)
    assert len(bt.walk_forward.folds) == 1  # one model for the whole test window, like the live session
    live, journal = live_session(cfg)
    orders = live.ledger.orders_frame()
    compare_orders(bt.ledger.orders_frame(), orders)
    assert set(orders["reason"]) == {"rebalance"} and {"buy", "sell"} <= set(orders["side"])
    # journaled as the portfolio's own orders, so the live report pairs them into the backtest's round trips
    rows = journal.orders()
    assert {r.intent for r in rows} == {"rebalance"}
    trades, open_, unpaired = rebuild_trades(rows, _fill_times(journal), pd.DataFrame())
    assert unpaired == 0 and len(trades) > 0
    first = orders["created"].min()
    expected = bt.ledger.trades_frame()
    expected = expected[(expected["entry_time"] > first) & (expected["exit_reason"] != "end")]
    key = ["exit_time", "symbol", "entry_time"]
    trades, expected = (f.sort_values(key).reset_index(drop=True) for f in (trades, expected))
    assert len(trades) == len(expected) and list(trades["side"]) == list(expected["side"])
    for col in ("size", "pnl"):
        np.testing.assert_allclose(trades[col].to_numpy(float), expected[col].to_numpy(float), rtol=1e-9)
