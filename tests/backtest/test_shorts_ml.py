"""ml_signal with allow_short on sample data: short trades in trades.csv with the right P&L sign and costs."""

from __future__ import annotations

import json
import math

import pandas as pd

from bot.backtest import run_backtest, write_run
from tests.backtest.helpers import small_ml_config


def test_allow_short_trades_short_with_correct_pnl_and_borrow(tmp_path):
    cfg = small_ml_config(strategy__params="{entry_threshold: 0.51, allow_short: true}", broker__short_fee="0.05")
    res = run_backtest(cfg)
    out = write_run(res, tmp_path / "run")
    trades = pd.read_csv(out / "trades.csv")
    shorts, longs = trades[trades.side == "short"], trades[trades.side == "long"]
    assert len(shorts) >= 5 and len(longs) >= 5
    assert (trades["size"] > 0).all()
    sign = trades.side.map({"long": 1.0, "short": -1.0})
    assert ((trades.exit_price - trades.entry_price) * trades["size"] * sign - trades.pnl).abs().max() < 1e-6
    assert ((shorts.pnl > 0) == (shorts.exit_price < shorts.entry_price)).all()
    assert (shorts.borrow > 0).all() and (longs.borrow == 0).all()
    assert ((trades.pnl - trades.commission - trades.borrow - trades.pnl_net).abs() < 1e-6).all()
    orders = pd.read_csv(out / "orders.csv")
    entries = orders[orders.reason == "entry"]
    assert set(entries.side) == {"buy", "sell"}
    stops = orders[orders.reason == "stop_loss"].merge(entries, on=["symbol", "created"], suffixes=("", "_entry"))
    assert (stops.side != stops.side_entry).all()  # a short's stop buys, a long's sells
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_short"] == len(shorts) and m["n_long"] == len(longs) and m["n_trades"] == len(trades)
    assert math.isclose(m["costs"]["borrow"], shorts.borrow.sum(), rel_tol=1e-9)
    assert math.isclose(m["final_value"], m["starting_cash"] + trades.pnl_net.sum(), abs_tol=1e-6)
    assert (out / "tearsheet.html").read_text().count("Short borrow fees paid") == 1
