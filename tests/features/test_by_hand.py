"""Features on frames of a few bars whose values were worked out on paper."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from bot.errors import ConfigError
from bot.features import compute_features
from bot.features.bands import bb_pctb, natr, true_range
from bot.features.cross_asset import asof
from bot.features.oscillators import stoch_k, williams_r
from bot.features.trend import adx, minus_di, plus_di
from bot.features.volume import cmf, obv_flow


def frame(h: list[float], lo: list[float], c: list[float], v: list[float] | None = None):
    idx = pd.date_range("2024-12-30", periods=len(c), freq="D", tz="UTC")
    v = v or [100.0] * len(c)
    return pd.DataFrame({"open": c, "high": h, "low": lo, "close": c, "volume": v}, index=idx)


# h, l, c: up/down moves are (1, -1), (1, 1) a tie, (-1, 2); TR = 2, 4, 5
DM = frame(h=[10, 11, 12, 11], lo=[8, 9, 8, 6], c=[9, 10, 8, 7])


def test_true_range_and_natr() -> None:
    assert true_range(DM).tolist()[1:] == [2.0, 4.0, 5.0]
    assert math.isnan(true_range(DM).iloc[0])
    # Wilder n=2: seed (2 + 4) / 2 = 3 at row 2, then 3 + (5 - 3) / 2 = 4
    assert natr(DM, 2).tolist()[2:] == pytest.approx([3 / 8, 4 / 7])


def test_directional_index_with_a_tie() -> None:
    # +DM = 1, 0 (tie), 0 ; -DM = 0, 0 (tie), 2 ; W(TR) = 3, 4
    assert plus_di(DM, 2).tolist()[2:] == pytest.approx([100 * 0.5 / 3, 100 * 0.25 / 4])
    assert minus_di(DM, 2).tolist()[2:] == pytest.approx([0.0, 25.0])
    # DX = 100, 100 * |6.25 - 25| / 31.25 = 60 ; ADX seed = (100 + 60) / 2
    assert adx(DM, 2).tolist()[3] == pytest.approx(80.0)
    assert math.isnan(adx(DM, 2).iloc[2])


def test_stochastic_and_williams() -> None:
    bars = frame(h=[10, 12, 11], lo=[8, 9, 7], c=[9, 11, 10])
    # HH3 = 12, LL3 = 7, c = 10
    assert stoch_k(bars, 3).iloc[2] == pytest.approx(100 * 3 / 5)
    assert williams_r(bars, 3).iloc[2] == pytest.approx(-100 * 2 / 5)
    assert stoch_k(bars, 3).iloc[:2].isna().all()


def test_bollinger_pctb() -> None:
    bars = frame(h=[1, 2, 3], lo=[1, 2, 3], c=[1.0, 2.0, 3.0])
    sd = math.sqrt(2 / 3)  # population std of 1, 2, 3
    assert bb_pctb(bars, 3, 2.0).iloc[2] == pytest.approx((3 - (2 - 2 * sd)) / (4 * sd))


def test_obv_flow_counts_flat_closes_as_zero() -> None:
    bars = frame(h=[9] * 4, lo=[9] * 4, c=[9.0, 10.0, 10.0, 8.0], v=[5.0, 1.0, 2.0, 3.0])
    # signs +1, 0, -1 over volumes 1, 2, 3
    assert obv_flow(bars, 3).iloc[3] == pytest.approx((1 - 3) / 6)
    assert obv_flow(bars, 3).iloc[:3].isna().all()


def test_cmf_counts_a_flat_bar_as_zero() -> None:
    bars = frame(h=[10, 5], lo=[8, 5], c=[9.5, 5.0], v=[4.0, 6.0])
    # mfm = ((9.5-8) - (10-9.5)) / 2 = 0.5 ; the flat bar's mfm is 0
    assert cmf(bars, 2).iloc[1] == pytest.approx(0.5 * 4 / 10)


def test_calendar_on_known_dates() -> None:
    out = compute_features(frame([1] * 3, [1] * 3, [1.0] * 3), ["day_of_week", "month", "day_of_month"])
    assert out.to_numpy().tolist() == [[0, 12, 30], [1, 12, 31], [2, 1, 1]]  # Mon 2024-12-30


def test_asof_never_uses_a_later_context_bar() -> None:
    ctx = pd.Series(
        [1.0, 2.0, 3.0],
        index=pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-02 00:00", "2024-01-02 21:00"]),
    )  # tz-naive: read as UTC
    rows = pd.DatetimeIndex(["2023-12-31", "2024-01-01", "2024-01-02", "2024-01-02 20:59", "2024-01-03"], tz="UTC")
    got = asof(ctx, rows, "SPY").tolist()
    assert math.isnan(got[0])
    assert got[1:] == [1.0, 2.0, 2.0, 3.0]


def test_missing_context_symbol_is_config_error() -> None:
    bars = frame([1] * 3, [1] * 3, [1.0] * 3)
    with pytest.raises(ConfigError) as ei:
        compute_features(bars, ["ret_1", "vix_level"], {"SPY": bars})
    assert str(ei.value) == "model.features: feature 'vix_level' needs VIX in the data folder"
    with pytest.raises(ConfigError, match="needs SPY"):
        compute_features(bars, ["spy_regime_200"])
