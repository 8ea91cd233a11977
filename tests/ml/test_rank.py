"""The cross-sectional label (excess_return) and the rank statistics (rank IC, top-minus-bottom spread)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from bot.data.loading import load_data
from bot.ml.dataset import UNKNOWN_END, build_dataset
from bot.ml.labels import cross_sectional_excess
from bot.ml.rank import mean_t, rank_ic, rank_report, spread_of
from tests.backtest.helpers import small_rank_config


def test_excess_return_is_zero_mean_per_timestamp_and_ends_at_the_latest_return_it_uses():
    ret = pd.Series([0.1, 0.3, np.nan, 0.2, np.nan, 0.05])
    when = pd.Series([0, 0, 0, 1, 1, 2])
    end = pd.Series([5.0, 7.0, np.nan, 6.0, np.nan, 8.0])
    out = cross_sectional_excess(ret, when, end)
    assert out["ret"].tolist()[:2] == pytest.approx([-0.1, 0.1])
    assert np.isnan(out["ret"][2]) and np.isnan(out["ret"][3]) and np.isnan(out["ret"][5])  # < 2 known
    assert out["end"].tolist()[:2] == [7.0, 7.0]


def test_excess_label_in_the_pooled_dataset():
    cfg = small_rank_config()
    bars, _ = load_data(cfg)
    f = build_dataset(bars, cfg).frame
    known = f[f["ret_h5"].notna()]
    assert len(known) > 2000
    assert known.groupby("pos")["ret_h5"].sum().abs().max() < 1e-12  # zero mean per timestamp
    assert (known["up_h5"] == (known["ret_h5"] > 0)).all()
    # a label at t uses returns up to t + 5 only, and says so for the purge
    assert (known["end_h5"] == known["pos"] + 5).all()
    assert (f.loc[f["ret_h5"].isna(), "end_h5"] == UNKNOWN_END).all()
    t = 300
    raw = {s: df["close"].iloc[t + 5] / df["close"].iloc[t] - 1 for s, df in bars.items()}
    row = known[known["pos"] == t].set_index("symbol")["ret_h5"]
    mean = np.mean(list(raw.values()))
    assert row.to_dict() == pytest.approx({s: r - mean for s, r in raw.items()})


def test_rank_ic_is_spearman_per_timestamp_with_its_t_stat():
    score = np.array([0.9, 0.7, 0.5, 0.3, np.nan])
    realised = np.array([0.05, -0.01, 0.02, -0.03, 0.5])
    assert rank_ic(score, realised) == pytest.approx(spearmanr(score[:4], realised[:4]).statistic)
    assert rank_ic(score[:4], -score[:4]) == pytest.approx(-1.0)
    assert math.isnan(rank_ic(np.array([1.0, 2.0]), np.array([1.0, 2.0])))
    s = mean_t([0.1, 0.3, 0.2])
    assert s["mean"] == pytest.approx(0.2) and s["t"] == pytest.approx(0.2 / (0.1 / math.sqrt(3)))
    assert spread_of(
        pd.Series({"A": 3.0, "B": 2.0, "C": 1.0}), pd.Series({"A": 0.04, "B": 0.0, "C": -0.02}), 1, 1
    ) == pytest.approx(0.06)


def test_rank_report_on_a_constructed_example():
    cal = pd.date_range("2020-01-01", periods=12, freq="D", tz="UTC")
    closes = {"A": 100 * 1.01 ** np.arange(12), "B": np.full(12, 100.0), "C": 100 * 0.99 ** np.arange(12)}
    bars = {s: pd.DataFrame({"close": c}, index=cal) for s, c in closes.items()}
    rows = [dict(timestamp=t, symbol=s, prob_up=p) for t in cal[:8] for s, p in (("A", 0.7), ("B", 0.5), ("C", 0.2))]
    rep = rank_report(pd.DataFrame(rows), bars, cal, horizon=2, every=4, first=0, top=1, bottom=1, ppy=252)
    assert rep["n_periods"] == 2 and rep["ic_mean"] == pytest.approx(1.0)  # steps 0 and 4; perfect ranking
    spread = 1.01**4 - 0.99**4
    assert rep["spread_mean"] == pytest.approx(spread) and rep["spread_annualised"] == pytest.approx(spread * 63)
    flipped = pd.DataFrame(rows).assign(prob_up=lambda d: 1 - d["prob_up"])
    assert rank_report(flipped, bars, cal, 2, 4, 0, 1, 1, 252)["ic_mean"] == pytest.approx(-1.0)
