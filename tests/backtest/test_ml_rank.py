"""ml_rank end to end on sample data: the rank metrics, and no look-ahead (a changed future leaves the past)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bot.backtest import run_backtest, write_run
from bot.config import RiskConfig
from bot.data.loading import load_data
from strategies.base import PortfolioView
from strategies.ml_rank import MlRankParams, MlRankStrategy
from tests.backtest.helpers import small_rank_config
from tests.backtest.test_lookahead import _alter_after, _lines_before


def test_ml_rank_backtest_reports_out_of_sample_rank_metrics(tmp_path):
    cfg = small_rank_config()
    res = run_backtest(cfg)
    out = write_run(res, tmp_path / "run")
    m = json.loads((out / "metrics.json").read_text())
    rank = m["rank"]
    assert rank["n_periods"] > 50 and -1 <= rank["ic_mean"] <= 1
    assert {"ic_t", "spread_annualised", "top_k", "bottom_k"} <= set(rank)
    first_oos = res.walk_forward.predictions.dropna(subset=["prob_up"])["timestamp"].min()
    orders = res.ledger.orders_frame()
    assert set(orders["reason"]) == {"rebalance"} and (orders["created"] >= first_oos).all()
    trades = res.ledger.trades_frame()
    assert {"long", "short"} <= set(trades["side"])
    assert "Cross-sectional ranking" in (out / "tearsheet.html").read_text()


def test_ml_rank_altering_bars_after_t_leaves_everything_before_t_identical(tmp_path):
    cfg = small_rank_config()
    bars, _ = load_data(cfg)
    t = pd.Timestamp("2016-09-01", tz="UTC")
    runs = [
        write_run(run_backtest(cfg, bars=b), tmp_path / f"run{i}")
        for i, b in enumerate((bars, _alter_after(bars, t, seed=1)))
    ]
    texts = [{n: (r / n).read_text() for n in ("signals.csv", "orders.csv", "trades.csv", "equity.csv")} for r in runs]
    ta, tb = texts
    t_str = "2016-09-01"
    sig = _lines_before(ta["signals.csv"], "timestamp", t_str)
    assert len(sig) > 100
    assert sig == _lines_before(tb["signals.csv"], "timestamp", t_str)
    assert _lines_before(ta["equity.csv"], "timestamp", t_str) == _lines_before(tb["equity.csv"], "timestamp", t_str)
    trades = _lines_before(ta["trades.csv"], "exit_time", t_str)
    assert len(trades) > 10 and trades == _lines_before(tb["trades.csv"], "exit_time", t_str)
    orders = _lines_before(ta["orders.csv"], "created", t_str, also="fill_time")
    assert len(orders) > 10 and orders == _lines_before(tb["orders.csv"], "created", t_str, also="fill_time")
    cols = ["order_id", "created", "symbol", "side", "size", "type", "reason"]
    oa, ob = (pd.read_csv(r / "orders.csv", dtype=str) for r in runs)
    assert oa[oa.created < t_str][cols].equals(ob[ob.created < t_str][cols])
    assert ta["equity.csv"] != tb["equity.csv"]


def _view(scores: dict[str, float], vols: dict[str, float]) -> PortfolioView:
    return PortfolioView(
        timestamp=pd.Timestamp("2020-01-02", tz="UTC"),
        close={s: 10.0 for s in scores},
        signals={s: {"score": scores[s], "vol": vols[s]} for s in scores},
        position={s: 0.0 for s in scores},
        equity=1000.0,
    )


def test_ml_rank_weights_equal_inverse_vol_long_only_and_too_few_symbols():
    risk = RiskConfig(sizing="fixed_fraction", max_gross=1.0)
    scores = {"A": 0.7, "B": 0.6, "C": 0.5, "D": 0.4, "E": float("nan")}
    vols = {"A": 0.01, "B": 0.03, "C": 0.02, "D": 0.02, "E": 0.01}
    ls = MlRankStrategy(MlRankParams(long_k=2, short_k=1), risk)
    assert ls.targets(_view(scores, vols)) == pytest.approx({"A": 0.25, "B": 0.25, "D": -0.5})
    iv = MlRankStrategy(MlRankParams(long_k=2, short_k=0, weighting="inverse_vol"), risk)
    assert iv.targets(_view(scores, vols)) == pytest.approx({"A": 0.75, "B": 0.25})
    wide = MlRankStrategy(MlRankParams(long_k=3, short_k=2), risk)
    assert wide.targets(_view(scores, vols)) == {}  # 4 scored symbols cannot fill 3 + 2
    assert ls.sells_short() and not iv.sells_short()
    with pytest.raises(ValueError, match="long_k \\+ short_k"):
        MlRankParams(long_k=0, short_k=0)
