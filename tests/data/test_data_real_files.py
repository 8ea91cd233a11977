"""The real files in the shared data folder load cleanly."""

from __future__ import annotations

import pandas as pd

from bot.data import load_bars


def test_equities_daily_load(real_data):
    folder = real_data / "equities" / "daily"
    symbols = sorted(p.stem for p in folder.glob("*.csv"))
    bars = load_bars("csv", symbols, path=str(folder))
    assert len(bars) == len(symbols) >= 25
    aapl = bars["AAPL"]
    assert len(aapl) == 3773
    assert aapl.index[0] == pd.Timestamp("2010-01-04", tz="UTC")
    assert "adj_close" in aapl.columns and "adj_close" not in bars["VIX"].columns
    assert (bars["VIX"]["volume"] == 0).all()
    for frame in bars.values():
        assert frame.index.is_unique and frame.index.is_monotonic_increasing


def test_equities_bounds(real_data):
    bars = load_bars("csv", ["SPY"], start="2001-09-10", end="2001-09-17",
                     path=str(real_data / "equities" / "daily"))
    days = [f"{t:%Y-%m-%d}" for t in bars["SPY"].index]
    assert days == ["2001-09-10", "2001-09-17"]


def test_crypto_1h_load(real_data):
    bars = load_bars("csv", ["BTC/USDT", "ETH/USDT"], "1h", path=str(real_data / "crypto" / "1h"))
    btc = bars["BTC/USDT"]
    assert len(btc) == 45024
    assert btc.index[0] == pd.Timestamp("2017-08-17 04:00", tz="UTC")
    assert btc.index[-1] == pd.Timestamp("2022-10-11 10:00", tz="UTC")


def test_crypto_daily_partial_last_candle_dropped(real_data):
    bars = load_bars("csv", ["BTC/USDT", "ETH/USDT"], path=str(real_data / "crypto" / "1d"))
    for frame in bars.values():
        assert len(frame) == 3121
        assert frame.index[-1] == pd.Timestamp("2026-03-03", tz="UTC")
