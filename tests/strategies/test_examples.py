"""Every example config in config/examples/ runs as shipped through run_backtest.py (its plugins loaded by path),
and shows what it is there to show: shorts with mirrored exits and a borrow fee, a user's features in the model,
a portfolio strategy's rebalances."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import run_backtest
from bot.features import check as feature_check

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "config" / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Run each example config once (from another working directory: paths resolve against the config)."""
    out: dict[str, Path] = {}
    base = tmp_path_factory.mktemp("examples")
    for cfg in EXAMPLES:
        folder = base / cfg.stem
        code = run_backtest.main(
            ["--config", str(cfg), "--out", str(folder), "-q", "--set", "registry.log_backtests=false"]
        )
        assert code == 0, cfg
        out[cfg.stem] = folder
    return out


def test_every_example_config_is_run(runs):
    assert set(runs) == {"channel_breakout", "ml_custom_feature", "momentum_rotation"}
    for folder in runs.values():
        assert (folder / "tearsheet.html").exists() and (folder / "metrics.json").exists()


def test_channel_breakout_trades_both_sides_with_mirrored_exits_and_pays_borrow(runs):
    trades = pd.read_csv(runs["channel_breakout"] / "trades.csv")
    shorts = trades[trades["side"] == "short"]
    assert len(shorts) and len(trades[trades["side"] == "long"])
    assert {"stop_loss", "take_profit"} <= set(shorts["exit_reason"])
    hit_stop = shorts[shorts["exit_reason"] == "stop_loss"]
    assert (hit_stop["exit_price"] > hit_stop["entry_price"]).all() and (hit_stop["pnl"] < 0).all()
    tp = shorts[shorts["exit_reason"] == "take_profit"]
    assert (tp["exit_price"] < tp["entry_price"]).all() and (tp["pnl"] > 0).all()
    assert (shorts["borrow"] > 0).all() and (trades.loc[trades["side"] == "long", "borrow"] == 0).all()
    net = shorts["pnl"] - shorts["commission"] - shorts["borrow"]
    assert net.to_numpy() == pytest.approx(shorts["pnl_net"].to_numpy())
    signals = pd.read_csv(runs["channel_breakout"] / "signals.csv")
    assert list(signals.columns) == ["timestamp", "symbol", "upper", "lower", "middle"]


def test_ml_custom_feature_trains_on_the_users_features(runs):
    importance = pd.read_csv(runs["ml_custom_feature"] / "feature_importance.csv")
    assert {"range_pos_20", "gap_1"} <= set(importance["feature"])
    metrics = json.loads((runs["ml_custom_feature"] / "metrics.json").read_text())
    assert "range_pos_20" in metrics["ml"]["features"] and metrics["ml"]["n_predictions"] > 0


def test_momentum_rotation_rebalances_monthly_into_two_symbols(runs):
    orders = pd.read_csv(runs["momentum_rotation"] / "orders.csv", parse_dates=["created"])
    assert set(orders["reason"]) == {"rebalance"}
    days = sorted(orders["created"].unique())
    calendar = pd.read_csv(runs["momentum_rotation"] / "equity.csv", parse_dates=["timestamp"])["timestamp"]
    steps = [int(calendar.searchsorted(d)) for d in days]
    assert all((b - a) % 21 == 0 for a, b in zip(steps, steps[1:], strict=False))
    equity = pd.read_csv(runs["momentum_rotation"] / "equity.csv")
    assert equity["exposure"].max() <= 1.0 + 0.05  # max_gross 1, drift between rebalances allowed


def test_the_example_features_pass_the_causality_check(capsys):
    code = feature_check.main(["check", str(ROOT / "strategies" / "examples" / "my_features.py")])
    assert code == 0
    assert capsys.readouterr().out.split() == ["ok", "range_pos_20", "ok", "gap_1"]
