"""Resampling reproduces exchange candles; higher timeframes are visible only after they close."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.data import load_bars
from bot.data.resample import align_higher, multi_timeframe, resample_bars
from bot.errors import ConfigError


def _hourly(days: int = 6) -> pd.DataFrame:
    return load_bars(
        "sample",
        ["BTC/USDT"],
        "1h",
        start="2019-01-05",
        end=pd.Timestamp("2019-01-05", tz="UTC") + pd.Timedelta(days=days, hours=-1),
        seed=3,
    )["BTC/USDT"]


def test_resample_aggregates_ohlcv():
    h = _hourly(2)
    r = resample_bars(h, "1h", "4h")
    assert len(r) == 12
    first = h.iloc[:4]
    assert r.index[0] == h.index[0]
    assert r["open"].iloc[0] == first["open"].iloc[0]
    assert r["high"].iloc[0] == first["high"].max()
    assert r["low"].iloc[0] == first["low"].min()
    assert r["close"].iloc[0] == first["close"].iloc[-1]
    assert r["volume"].iloc[0] == pytest.approx(first["volume"].sum())
    daily = resample_bars(r, "4h", "1d")
    pd.testing.assert_frame_equal(daily, resample_bars(h, "1h", "1d"), check_exact=False, rtol=1e-12)


def test_partial_bins():
    h = _hourly(2).iloc[:-2]  # last 4h bin holds 2 of 4 hours
    assert len(resample_bars(h, "1h", "4h")) == 11
    assert len(resample_bars(h.loc["2019-01-06"], "1h", "4h", is_24_7=False)) == 6
    assert len(resample_bars(h, "1h", "4h", partial="keep")) == 12
    holed = h.drop(h.index[5])
    assert len(resample_bars(holed, "1h", "4h", partial="drop")) == 10
    assert len(resample_bars(holed, "1h", "4h")) == 11


def test_bad_resample_is_config_error():
    with pytest.raises(ConfigError):
        resample_bars(_hourly(1), "4h", "1h")
    with pytest.raises(ConfigError):
        resample_bars(_hourly(1), "1h", "5h")


def test_alignment_waits_for_higher_bar_close():
    h = _hourly(2)
    four = resample_bars(h, "1h", "4h")
    a = align_higher(h, "1h", four, "4h")
    assert a.iloc[:3].isna().all().all()  # 00:00..02:00 close before the first 4h bar closes
    assert a["4h_timestamp"].iloc[3] == h.index[0]  # the 03:00 bar closes at 04:00 with it
    assert a["4h_close"].iloc[3] == h["close"].iloc[3]
    assert a["4h_timestamp"].iloc[6] == h.index[0]
    assert a["4h_timestamp"].iloc[7] == h.index[4]


@pytest.mark.parametrize("higher", ["4h", "1d"])
def test_no_look_ahead_against_truncated_history(higher):
    h = _hourly(6)
    full = multi_timeframe(h, "1h", [higher])
    rng = np.random.default_rng(0)
    for cut in sorted(rng.choice(np.arange(5, len(h)), size=12, replace=False)):
        past = multi_timeframe(h.iloc[: cut + 1], "1h", [higher])
        pd.testing.assert_frame_equal(past, full.iloc[: cut + 1])


def test_no_look_ahead_when_future_changes():
    h = _hourly(4)
    changed = h.copy()
    changed.iloc[50:, :4] *= 1.5
    a = multi_timeframe(h, "1h", ["4h", "1d"])
    b = multi_timeframe(changed, "1h", ["4h", "1d"])
    pd.testing.assert_frame_equal(a.iloc[:50], b.iloc[:50])
    assert not a.iloc[50:].equals(b.iloc[50:])


def test_real_hourly_resamples_to_exchange_candles(real_data):
    hourly = load_bars("csv", ["BTC/USDT"], "1h", path=str(real_data / "crypto" / "1h"))["BTC/USDT"]
    for tf in ("4h", "1d"):
        exchange = load_bars("csv", ["BTC/USDT"], tf, path=str(real_data / "crypto" / tf))["BTC/USDT"]
        ours = resample_bars(hourly, "1h", tf, partial="drop")
        common = ours.index.intersection(exchange.index)
        assert len(common) > 0.98 * len(ours)
        pd.testing.assert_frame_equal(ours.loc[common], exchange.loc[common], check_exact=False, rtol=1e-9)
