"""The sample generator is deterministic, per-symbol independent and realistic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bot.data import load_bars

SYMBOLS = ["AAA", "BBB", "CCC"]


def _log_returns(frame: pd.DataFrame) -> np.ndarray:
    return np.diff(np.log(frame["close"].to_numpy()))


def test_same_seed_same_frames_and_default_span():
    a = load_bars("sample", SYMBOLS, seed=7)
    b = load_bars("sample", SYMBOLS, seed=7)
    for s in SYMBOLS:
        pd.testing.assert_frame_equal(a[s], b[s])
    idx = a["AAA"].index
    assert idx[0] >= pd.Timestamp("2010-01-01", tz="UTC")
    assert idx[-1] <= pd.Timestamp("2019-12-31", tz="UTC")
    assert idx[-1] >= pd.Timestamp("2019-12-27", tz="UTC")
    assert (idx.day_of_week < 5).all()
    assert list(a["AAA"].columns) == ["open", "high", "low", "close", "volume"]
    assert str(idx.tz) == "UTC" and idx.name == "timestamp" and idx.is_unique


def test_other_seed_changes_data():
    a = load_bars("sample", ["AAA"], seed=1)["AAA"]
    b = load_bars("sample", ["AAA"], seed=2)["AAA"]
    assert not np.allclose(a["close"], b["close"])


def test_adding_a_symbol_does_not_change_others():
    one = load_bars("sample", ["AAA"], seed=3)["AAA"]
    many = load_bars("sample", ["ZZZ", "AAA", "BBB"], seed=3)
    pd.testing.assert_frame_equal(one, many["AAA"])
    assert not np.allclose(many["ZZZ"]["close"], many["AAA"]["close"])


def test_window_change_keeps_overlapping_bars():
    full = load_bars("sample", ["AAA"], seed=4)["AAA"]
    part = load_bars("sample", ["AAA"], start="2012-03-01", end="2013-06-28", seed=4)["AAA"]
    pd.testing.assert_frame_equal(part, full.loc["2012-03-01":"2013-06-28"])
    assert part.index[0] == pd.Timestamp("2012-03-01", tz="UTC")
    assert part.index[-1] == pd.Timestamp("2013-06-28", tz="UTC")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_daily_sample_is_realistic(seed):
    for sym, frame in load_bars("sample", SYMBOLS, seed=seed).items():
        r = _log_returns(frame)
        assert stats.kurtosis(r, fisher=False) > 3.0, sym
        assert np.corrcoef(r[1:] ** 2, r[:-1] ** 2)[0, 1] > 0.0, sym
        assert 0.05 < r.std() * np.sqrt(252) < 0.8, sym
        assert np.corrcoef(np.abs(r), frame["volume"].to_numpy()[1:])[0, 1] > 0.2, sym
        assert (frame[["open", "high", "low", "close"]] > 0).all().all()
        assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
        assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
        assert (frame["volume"] > 0).all()


@pytest.mark.parametrize(("timeframe", "step"), [("1h", "1h"), ("4h", "4h")])
def test_intraday_sample_is_24_7(timeframe, step):
    frame = load_bars("sample", ["BTC/USDT"], timeframe, start="2019-01-01", end="2019-03-31", seed=5)["BTC/USDT"]
    deltas = frame.index.to_series().diff().dropna().unique()
    assert list(deltas) == [pd.Timedelta(step)]
    assert frame.index[-1].strftime("%Y-%m-%d") == "2019-03-31"
    assert (frame.index.day_of_week >= 5).any()
    r = _log_returns(frame)
    assert stats.kurtosis(r, fisher=False) > 3.0
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
