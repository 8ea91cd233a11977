"""Parquet cache: one file per symbol and timeframe, only missing ranges fetched; Parquet provider."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.data import data_hash, load_bars
from bot.data.cache import ParquetCache, cache_file, read_cache
from bot.data.providers.local import ParquetProvider, SampleProvider


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


class Counting:
    """A provider that records the ranges it was asked for."""

    name = "counting"

    def __init__(self, inner):
        self.inner = inner
        self.calls: list[tuple] = []

    def get_bars(self, symbol, timeframe, start, end):
        self.calls.append((symbol, timeframe, start, end))
        return self.inner.get_bars(symbol, timeframe, start, end)


def _cache(tmp_path, now="2030-01-01"):
    inner = Counting(SampleProvider(seed=2))
    return inner, ParquetCache(inner, tmp_path / "cache", clock=lambda: ts(now))


def test_cache_fetches_only_missing_ranges(tmp_path):
    inner, cache = _cache(tmp_path)
    first = cache.get_bars("AAA", "1d", ts("2015-03-01"), ts("2015-06-30"))
    assert inner.calls == [("AAA", "1d", ts("2015-03-01"), ts("2015-06-30"))]
    again = cache.get_bars("AAA", "1d", ts("2015-04-01"), ts("2015-05-31"))
    assert len(inner.calls) == 1
    pd.testing.assert_frame_equal(again, first.loc["2015-04-01":"2015-05-31"])
    wider = cache.get_bars("AAA", "1d", ts("2015-01-01"), ts("2015-09-30"))
    assert inner.calls[1:] == [
        ("AAA", "1d", ts("2015-01-01"), ts("2015-03-01") - pd.Timedelta(1, "ns")),
        ("AAA", "1d", ts("2015-06-30") + pd.Timedelta(1, "ns"), ts("2015-09-30")),
    ]
    direct = SampleProvider(seed=2).get_bars("AAA", "1d", ts("2015-01-01"), ts("2015-09-30"))
    pd.testing.assert_frame_equal(wider, direct, check_freq=False)
    path = cache_file(tmp_path / "cache", "AAA", "1d")
    assert path == tmp_path / "cache" / "1d" / "AAA.parquet"
    _, cov = read_cache(path)
    assert (cov.start, cov.end) == (ts("2015-01-01"), ts("2015-09-30"))


def test_cache_survives_a_new_process_object(tmp_path):
    inner, cache = _cache(tmp_path)
    cache.get_bars("BTC/USDT", "1h", ts("2020-01-01"), ts("2020-01-10"))
    inner2, cache2 = _cache(tmp_path)
    frame = cache2.get_bars("BTC/USDT", "1h", ts("2020-01-02"), ts("2020-01-03"))
    assert inner2.calls == [] and len(frame) == 25
    assert (tmp_path / "cache" / "1h" / "BTC_USDT.parquet").is_file()


def test_cache_refetches_candles_that_were_still_forming(tmp_path):
    inner, cache = _cache(tmp_path, now="2020-01-05T10:30:00Z")
    frame = cache.get_bars("X", "1h", ts("2020-01-05"), None)
    assert frame.index[-1] == ts("2020-01-05 09:00")  # 10:00 closes at 11:00
    _, later = _cache(tmp_path, now="2020-01-05T13:00:00Z")
    later.inner = inner
    frame = later.get_bars("X", "1h", ts("2020-01-05"), None)
    assert frame.index[-1] == ts("2020-01-05 12:00")
    assert inner.calls[-1][2] == ts("2020-01-05 09:30") + pd.Timedelta(1, "ns")


def test_cached_csv_equals_csv_and_hash(tmp_path, real_data):
    folder = str(real_data / "equities" / "daily")
    plain = load_bars("csv", ["AAPL", "VIX"], path=folder)
    cached = load_bars("csv", ["AAPL", "VIX"], path=folder, cache_dir=tmp_path)
    again = load_bars("parquet", ["AAPL", "VIX"], path=str(tmp_path / "1d"))
    for sym in plain:
        pd.testing.assert_frame_equal(cached[sym], plain[sym])
        pd.testing.assert_frame_equal(again[sym], plain[sym])
    assert data_hash(cached) == data_hash(plain) == data_hash(again)


def test_parquet_provider_unknown_symbol_lists_files(tmp_path):
    from bot.errors import ConfigError

    load_bars("sample", ["A"], start="2015-01-01", end="2015-01-31", cache_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"unknown symbol 'B': no B.parquet"):
        ParquetProvider(tmp_path / "1d").get_bars("B", "1d", None, None)


def test_missing_ranges_skip_slivers_without_a_bar_start():
    from bot.data.cache import Coverage, missing_ranges

    cov = Coverage(ts("2020-01-01"), ts("2020-01-05 09:30"))
    hour, day = pd.Timedelta(hours=1), pd.Timedelta(days=1)
    assert missing_ranges(cov, ts("2020-01-02"), ts("2020-01-05 09:59"), hour) == []
    assert missing_ranges(cov, ts("2020-01-02"), ts("2020-01-05 10:00"), hour) == [
        (ts("2020-01-05 09:30") + pd.Timedelta(1, "ns"), ts("2020-01-05 10:00"))
    ]
    assert missing_ranges(cov, ts("2020-01-02"), ts("2020-01-05 23:00"), day) == []
    assert len(missing_ranges(cov, ts("2020-01-02"), ts("2020-01-06 00:30"), day)) == 1
    assert missing_ranges(None, None, ts("2020-01-01"), day) == [(None, ts("2020-01-01"))]
