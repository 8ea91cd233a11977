"""PSR / DSR against Bailey & López de Prado's worked example, the binomial test, the trading rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bot.ml import scoring
from bot.ml.stats import (
    accuracy_test,
    binomial_p_value,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    sharpe_stats,
)


def test_deflated_sharpe_ratio_matches_the_papers_numerical_example():
    """Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", numerical example: N = 100 trials,
    V[SR_n] = 1/2 (annualised), best annualised SR 2.5 over T = 1250 daily returns with skewness -3
    and kurtosis 10 -> SR0 ~ 0.1132 (per day) and DSR ~ 0.9004."""
    sr = 2.5 / math.sqrt(250)
    sd = math.sqrt(0.5 / 250)
    assert expected_max_sharpe(100, sd) == pytest.approx(0.1132, abs=5e-5)
    assert deflated_sharpe_ratio(sr, 1250, 100, sd, skew=-3, kurtosis=10) == pytest.approx(0.9004, abs=5e-4)
    # DSR is the PSR measured against SR0.
    sr0 = expected_max_sharpe(100, sd)
    assert probabilistic_sharpe_ratio(sr, 1250, -3, 10, sr_benchmark=sr0) == pytest.approx(0.9004, abs=5e-4)


def test_probabilistic_sharpe_ratio_by_hand():
    # Normal returns (skew 0, kurtosis 3): z = SR sqrt(n - 1) / sqrt(1 + SR^2 / 2) = 0.1 * 10 / sqrt(1.005).
    assert probabilistic_sharpe_ratio(0.1, 101, 0.0, 3.0) == pytest.approx(
        sps.norm.cdf(1 / math.sqrt(1.005)), abs=1e-12
    )
    assert probabilistic_sharpe_ratio(0.1, 101, 0.0, 3.0) == pytest.approx(0.84074, abs=1e-5)
    # Negative skew and fat tails widen the Sharpe ratio's error, so the same SR is less convincing.
    assert probabilistic_sharpe_ratio(0.1, 101, -2.0, 9.0) < probabilistic_sharpe_ratio(0.1, 101, 0.0, 3.0)
    assert probabilistic_sharpe_ratio(0.0, 500) == pytest.approx(0.5)


def test_expected_max_sharpe_agrees_with_simulation_and_grows_with_trials():
    rng = np.random.default_rng(0)
    simulated = rng.standard_normal((4000, 100)).max(axis=1).mean()
    assert expected_max_sharpe(100, 1.0) == pytest.approx(simulated, abs=0.05)
    assert expected_max_sharpe(1, 1.0) == 0.0
    assert expected_max_sharpe(10, 1.0) < expected_max_sharpe(1000, 1.0)


def test_more_trials_deflate_the_same_sharpe_ratio():
    rng = np.random.default_rng(2)
    r = rng.normal(0.0008, 0.01, 1000)
    one, many = sharpe_stats(r, n_trials=1), sharpe_stats(r, n_trials=200)
    assert one["dsr"] == pytest.approx(one["psr"])
    assert many["dsr"] < one["dsr"] - 0.2
    assert one["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252))


def test_binomial_test_against_the_majority_baseline():
    assert binomial_p_value(60, 100, 0.5) == pytest.approx(sps.binomtest(60, 100, 0.5, alternative="greater").pvalue)
    t = accuracy_test(5300, 10000, 0.52, dependence=5)
    assert t["p_value"] < 0.05  # 53 % vs 52 % on 10 000 looks significant ...
    assert t["n_effective"] == 2000 and t["p_value_effective"] > 0.1  # ... but not on 2 000 independent outcomes
    assert not t["significant_5pct"]


def test_trading_rule_returns_costs_and_metrics_by_hand():
    ts = pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03"] * 2)
    pred = pd.DataFrame(
        {
            "timestamp": ts,
            "symbol": ["A"] * 3 + ["B"] * 3,
            "prob_up": [0.6, 0.6, 0.4, 0.4, 0.7, 0.7],
            "ret1": [0.01, -0.02, 0.03, 0.05, 0.02, -0.01],
        }
    )
    rr = scoring.rule_returns(pred, cost=0.001)
    # Day 1: A long (+1 %, pays entry), B flat -> (0.01 - 0.001 + 0) / 2; day 2: A long -2 %, B enters +2 %;
    # day 3: A exits (cost), B long -1 %.
    assert rr["strategy"].tolist() == pytest.approx([0.0045, (-0.02 + 0.02 - 0.001) / 2, (-0.001 - 0.01) / 2])
    assert rr["buy_hold"].tolist() == pytest.approx([0.03, 0.0, 0.01])
    m = scoring.trading_metrics(pred, 252, cost=0.0)
    assert m["win_rate"] == pytest.approx(2 / 4)  # invested symbol-bars: +1 %, -2 %, +2 %, -1 %
    assert m["profit_factor"] == pytest.approx(0.03 / 0.03)
    # Without costs the rule earns +0.5 %, 0, -0.5 %: wealth 1.005, 1.005, 0.999975.
    assert m["max_drawdown"] == pytest.approx(0.999975 / 1.005 - 1)
    assert m["total_return"] == pytest.approx(0.999975 - 1)


def test_classification_metrics_and_calibration_table():
    y = np.array([1, 0, 1, 1, 0, 0])
    p = np.array([0.9, 0.2, 0.6, 0.4, 0.55, 0.1])
    m = scoring.classification_metrics(y, p)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion"] == [[2, 1], [1, 2]]
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))
    table = scoring.calibration_table(y, p, bins=2)
    assert [row["count"] for row in table] == [3, 3]
    assert table[1]["frac_up"] == pytest.approx(2 / 3) and table[1]["mean_prob"] == pytest.approx(
        (0.9 + 0.6 + 0.55) / 3
    )


def test_active_stats_test_beating_the_benchmark_not_beating_zero():
    from bot.configure import parse_config
    from bot.ml.summary import active_stats

    cfg = parse_config({"name": "t", "data": {"source": "sample", "symbols": ["A"]}, "tuning": {"n_trials": 5}})
    rng = np.random.default_rng(3)
    idx = pd.bdate_range("2020-01-01", periods=500, tz="UTC")
    b_ret = 0.001 + 0.01 * rng.standard_normal(500)  # a strongly rising market
    s_ret = 0.5 * b_ret + 0.002 * rng.standard_normal(500)  # half invested: Sharpe > 0 but lags the market
    bench = pd.Series(100 * np.cumprod(1 + b_ret), index=idx)
    equity = pd.Series(100 * np.cumprod(1 + s_ret), index=idx)
    a = active_stats(equity, bench, None, cfg, 252)
    diff = (equity.pct_change() - bench.pct_change()).dropna().to_numpy()
    assert a["sharpe"] == pytest.approx(diff.mean() / diff.std(ddof=1) * math.sqrt(252), rel=1e-9)
    assert a["n_obs"] == 499 and a["n_trials"] == 5
    assert a["psr"] < 0.05 and a["dsr"] <= a["psr"]  # it did not beat buy-and-hold ...
    assert sharpe_stats(np.diff(equity.to_numpy()) / equity.to_numpy()[:-1])["psr"] > 0.95  # ... though Sharpe > 0
    later = active_stats(equity, bench, idx[100], cfg, 252)
    assert later["n_obs"] == 399  # from the first signal on
