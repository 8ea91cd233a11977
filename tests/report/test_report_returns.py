"""Return analytics: daily resampling, annualisation, drawdowns, period returns (hand-computed values)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bot.report import returns as rt


def _series(values: list[float], start: str = "2024-01-01", freq: str = "D") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq=freq), dtype=float)


def test_daily_frame_takes_last_equity_and_mean_exposure_of_each_intraday_day():
    idx = pd.date_range("2024-01-01", periods=48, freq="h")
    equity = pd.DataFrame(
        {"equity": np.arange(48.0) + 100, "exposure": [0.0] * 24 + [1.0] * 12 + [0.5] * 12},
        index=idx,
    )
    daily = rt.daily_frame(equity)
    assert rt.is_intraday(idx)
    assert list(daily.index) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")]
    assert daily["equity"].tolist() == [123.0, 147.0]
    assert daily["exposure"].tolist() == [0.0, 0.75]


def test_daily_bars_with_a_time_of_day_are_not_intraday():
    idx = pd.date_range("2024-01-01 16:00", periods=5, freq="D")
    frame = pd.DataFrame({"equity": [1.0, 2, 3, 4, 5]}, index=idx)
    assert not rt.is_intraday(idx)
    assert rt.daily_frame(frame).index[0] == pd.Timestamp("2024-01-01")


def test_periods_per_year_prefers_metrics_then_infers_from_weekends():
    weekdays = pd.bdate_range("2024-01-01", periods=10)
    every_day = pd.date_range("2024-01-01", periods=10)
    assert rt.periods_per_year({"periods_per_year": 365}, weekdays) == 365
    assert rt.periods_per_year({}, weekdays) == 252
    assert rt.periods_per_year({}, every_day) == 365


def test_annual_volatility_uses_periods_per_year():
    values = _series(list(100 * np.cumprod([1.0] + [1.01, 0.99] * 100)))
    r = rt.simple_returns(values)
    sd = float(np.std(r.to_numpy(), ddof=1))
    assert rt.return_metrics(values, 252)["annual_volatility"] == pytest.approx(sd * math.sqrt(252))
    assert rt.return_metrics(values, 365)["annual_volatility"] == pytest.approx(sd * math.sqrt(365))


def test_intraday_noise_does_not_change_daily_annualisation():
    days = 60
    closes = 100 * np.cumprod(1 + np.tile([0.02, -0.01, 0.005], days // 3))
    idx = pd.date_range("2024-01-01", periods=days * 24, freq="h")
    hourly = np.repeat(closes, 24) * (1 + 0.05 * np.sin(np.arange(days * 24)))
    hourly[23::24] = closes  # the last bar of each day closes at the daily close
    daily = rt.daily_frame(pd.DataFrame({"equity": hourly}, index=idx))
    expected = np.std(np.diff(closes) / closes[:-1], ddof=1) * math.sqrt(365)
    assert rt.return_metrics(daily["equity"], 365)["annual_volatility"] == pytest.approx(expected)


def test_worst_drawdowns_hand_computed():
    values = _series([100, 110, 99, 88, 110, 120, 108, 120, 90])
    worst = rt.worst_drawdowns(values, top=5)
    assert worst["depth"].round(6).tolist() == [-0.25, -0.2, -0.1]
    first = worst.iloc[0]
    assert first["start"] == values.index[7] and first["trough"] == values.index[8]
    assert first["recovery"] is None or pd.isna(first["recovery"])
    second = worst.iloc[1]
    assert (second["start"], second["trough"], second["recovery"]) == (
        values.index[1],
        values.index[3],
        values.index[4],
    )
    assert second["days"] == 3


def test_worst_drawdowns_of_a_rising_curve_is_empty():
    assert rt.worst_drawdowns(_series([1, 2, 3, 4])).empty


def test_monthly_and_yearly_returns_start_from_the_first_bar():
    idx = pd.to_datetime(["2023-12-29", "2024-01-02", "2024-01-31", "2024-02-15", "2024-02-29"])
    values = pd.Series([100.0, 100.0, 110.0, 120.0, 99.0], index=idx)
    table = rt.monthly_returns(values)
    assert table.loc[2023, 12] == pytest.approx(0.0)
    assert table.loc[2024, 1] == pytest.approx(0.10)
    assert table.loc[2024, 2] == pytest.approx(-0.10)
    assert np.isnan(table.loc[2024, 3])
    years = rt.yearly_returns(values)
    assert years.loc[2024] == pytest.approx(-0.01)


def test_rolling_sharpe_matches_direct_computation():
    r = pd.Series(np.random.default_rng(1).normal(0.001, 0.01, 300))
    window = rt.rolling_sharpe(r, 126, 252)
    tail = r.iloc[-126:]
    assert window.iloc[-1] == pytest.approx(tail.mean() / tail.std(ddof=1) * math.sqrt(252))
    assert window.iloc[:125].isna().all()


def test_probabilistic_sharpe_tracks_the_sign_of_the_edge():
    rng = np.random.default_rng(3)
    good = pd.Series(rng.normal(0.002, 0.01, 1000))
    bad = pd.Series(rng.normal(-0.002, 0.01, 1000))
    assert rt.probabilistic_sharpe(good) > 0.95
    assert rt.probabilistic_sharpe(bad) < 0.05


def test_return_metrics_best_worst_day_and_var():
    values = _series([100, 102, 99.96, 101.9592, 100.939608])
    m = rt.return_metrics(values, 252)
    assert m["best_day"] == pytest.approx(0.02)
    assert m["worst_day"] == pytest.approx(-0.02)
    assert m["final_value"] == pytest.approx(100.939608)
    assert m["var_95"] <= m["best_day"]
