"""Trade and cost analytics (hand-computed values)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.report import trade_stats as ts
from bot.report.trades_section import column_decimals, trade_rows


def _trades(rows: list[dict]) -> pd.DataFrame:
    base = {
        "symbol": "AAA",
        "entry_time": pd.Timestamp("2024-01-02"),
        "exit_time": pd.Timestamp("2024-01-05"),
        "side": "long",
        "size": 10.0,
        "entry_price": 100.0,
        "exit_price": 101.0,
        "pnl": 10.0,
        "pnl_net": 10.0,
        "commission": 0.0,
        "slippage": 0.0,
        "exit_reason": "signal",
        "entry_prob": np.nan,
    }
    return pd.DataFrame([{**base, **r} for r in rows])


def test_costs_share_of_gross_pnl():
    trades = _trades(
        [
            {"pnl_net": 90.0, "commission": 10.0, "slippage": 4.0},
            {"pnl_net": -60.0, "commission": 5.0, "slippage": 1.0},
        ]
    )
    c = ts.costs(trades, starting_cash=1000.0)
    assert c["gross_pnl"] == pytest.approx(50.0)
    assert c["total_costs"] == pytest.approx(20.0)
    assert c["cost_share"] == pytest.approx(0.4)
    assert c["cost_vs_cash"] == pytest.approx(0.02)
    assert c["commission_per_trade"] == pytest.approx(7.5)


def test_by_exit_reason_lists_every_reason():
    trades = _trades(
        [
            {"exit_reason": "signal", "pnl_net": 5},
            {"exit_reason": "stop_loss", "pnl_net": -3},
            {"exit_reason": "signal", "pnl_net": -1},
        ]
    )
    out = ts.by_exit_reason(trades)
    assert list(out.index) == ["signal", "stop_loss", "take_profit", "trailing_stop", "end"]
    assert out["count"].tolist() == [2, 1, 0, 0, 0]
    assert out.loc["signal", "win_rate"] == pytest.approx(0.5)
    assert out.loc["signal", "share"] == pytest.approx(2 / 3)


def test_trade_summary_payoff_and_holding():
    trades = _trades(
        [
            {"pnl_net": 30.0},
            {"pnl_net": -10.0},
            {"pnl_net": 10.0, "exit_time": pd.Timestamp("2024-01-12")},
        ]
    )
    s = ts.trade_summary(trades)
    assert s["win_rate"] == pytest.approx(2 / 3)
    assert s["avg_win"] == pytest.approx(20.0)
    assert s["payoff_ratio"] == pytest.approx(2.0)
    assert s["avg_holding_days"] == pytest.approx((3 + 3 + 10) / 3)


def test_hit_rate_buckets_use_the_traded_side_probability():
    trades = _trades(
        [
            {"entry_prob": 0.52, "pnl_net": 1.0},
            {"entry_prob": 0.53, "pnl_net": -1.0},
            {"entry_prob": 0.61, "pnl_net": 2.0},
            {"entry_prob": 0.39, "side": "short", "pnl_net": 3.0},  # win probability 0.61
        ]
    )
    b = ts.hit_rate_by_bucket(trades)
    assert b["lo"].round(2).tolist() == [0.5, 0.6]
    assert b["count"].tolist() == [2, 2]
    assert b["hit_rate"].tolist() == [0.5, 1.0]


def test_hit_rate_without_probabilities_is_empty():
    assert ts.hit_rate_by_bucket(_trades([{}])).empty


def test_trade_table_rows_and_decimals():
    trades = _trades([{"entry_prob": 0.6, "pnl_net": 9.5, "commission": 0.5}, {"size": 12.0}])
    decimals = column_decimals(trades)
    assert decimals[4] == 0 and decimals[5] == 2
    rows = trade_rows(trades, intraday=False, decimals=decimals)
    assert rows[0][:4] == ["AAA", "2024-01-02", "2024-01-05", "long"]
    assert rows[0][8] == pytest.approx(0.95)  # 9.5 / (10 x 100) in percent
    assert rows[0][12] == pytest.approx(0.6) and rows[1][12] is None
    crypto = _trades([{"size": 0.0123, "entry_price": 0.5}])
    assert column_decimals(crypto)[4:6] == [4, 4]
