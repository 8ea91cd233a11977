"""load_bars: schema, symbol mapping, inclusive bounds and the partial last candle."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from bot.data import load_bars

COLUMNS = ["open", "high", "low", "close", "volume"]


def assert_schema(frame: pd.DataFrame, adj: bool = False) -> None:
    idx = frame.index
    assert isinstance(idx, pd.DatetimeIndex)
    assert idx.name == "timestamp"
    assert str(idx.tz) == "UTC"
    assert idx.is_unique and idx.is_monotonic_increasing
    assert list(frame.columns) == COLUMNS + (["adj_close"] if adj else [])
    assert all(dt_ == np.float64 for dt_ in frame.dtypes)


def _hourly_rows(start: str, hours: int, last_volume: float = 100.0) -> list[str]:
    ts = pd.date_range(start, periods=hours, freq="h", tz="UTC")
    rows = [f"{t:%Y-%m-%dT%H:%M:%SZ},10,11,9,10.5,100" for t in ts[:-1]]
    rows.append(f"{ts[-1]:%Y-%m-%dT%H:%M:%SZ},10,11,9,10.5,{last_volume}")
    return rows


def test_daily_dates_are_midnight_utc_and_schema(write_csv):
    rows = ["2020-01-02,10,11,9,10.5,1000,10.2", "2020-01-03,10.5,12,10,11,1500,10.7"]
    folder = write_csv("T", rows, header="Date,Open,High,Low,Close,Volume,Adj Close")
    frame = load_bars("csv", ["T"], path=str(folder))["T"]
    assert_schema(frame, adj=True)
    assert frame.index[0] == pd.Timestamp("2020-01-02", tz="UTC")


def test_symbol_with_slash_maps_to_underscore_and_order_kept(write_csv):
    folder = write_csv("BTC_USDT", _hourly_rows("2021-01-01", 5))
    write_csv("AAA", _hourly_rows("2021-01-01", 5))
    bars = load_bars("csv", ["BTC/USDT", "AAA"], "1h", path=str(folder))
    assert list(bars) == ["BTC/USDT", "AAA"]
    assert_schema(bars["BTC/USDT"])


def test_epoch_millisecond_timestamps(write_csv):
    rows = ["1609459200000,10,11,9,10.5,1", "1609462800000,10,11,9,10.5,1"]
    folder = write_csv("T", rows, header="timestamp,open,high,low,close,volume")
    frame = load_bars("csv", ["T"], "1h", path=str(folder))["T"]
    assert frame.index[1] == pd.Timestamp("2021-01-01 01:00", tz="UTC")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2020-01-03", "2020-01-07"),
        (dt.date(2020, 1, 3), dt.date(2020, 1, 7)),
        (pd.Timestamp("2020-01-03"), pd.Timestamp("2020-01-07", tz="UTC")),
    ],
)
def test_daily_bounds_are_inclusive(write_csv, start, end):
    days = ["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07", "2020-01-08"]
    folder = write_csv("T", [f"{d},10,11,9,10.5,1000" for d in days])
    frame = load_bars("csv", ["T"], start=start, end=end, path=str(folder))["T"]
    assert [f"{t:%Y-%m-%d}" for t in frame.index] == days[1:4]


def test_date_only_end_includes_whole_day_for_intraday(write_csv):
    folder = write_csv("T", _hourly_rows("2021-01-01", 72), header="timestamp,open,high,low,close,volume")
    frame = load_bars("csv", ["T"], "1h", start="2021-01-02", end="2021-01-02", path=str(folder))["T"]
    assert len(frame) == 24
    assert frame.index[-1] == pd.Timestamp("2021-01-02 23:00", tz="UTC")
    exact = load_bars("csv", ["T"], "1h", end="2021-01-02T05:00:00Z", path=str(folder))["T"]
    assert exact.index[-1] == pd.Timestamp("2021-01-02 05:00", tz="UTC")


def test_partial_last_candle_is_dropped_for_24_7_data(write_csv):
    header = "timestamp,open,high,low,close,volume"
    folder = write_csv("P", _hourly_rows("2021-01-01", 200, last_volume=20.0), header=header)
    write_csv("F", _hourly_rows("2021-01-01", 200, last_volume=40.0), header=header)
    bars = load_bars("csv", ["P", "F"], "1h", path=str(folder))
    assert len(bars["P"]) == 199
    assert len(bars["F"]) == 200


def test_low_last_volume_is_kept_for_weekday_only_data(write_csv):
    days = pd.bdate_range("2020-01-01", periods=60)
    rows = [f"{d:%Y-%m-%d},10,11,9,10.5,1000" for d in days[:-1]] + [f"{days[-1]:%Y-%m-%d},10,11,9,10.5,10"]
    frame = load_bars("csv", ["T"], path=str(write_csv("T", rows)))["T"]
    assert len(frame) == 60
