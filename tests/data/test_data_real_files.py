"""The real files in the shared data folder load cleanly."""

from __future__ import annotations

import pandas as pd

from bot.data import DataValidationConfig, load_bars, load_validated


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
    bars = load_bars("csv", ["SPY"], start="2001-09-10", end="2001-09-17", path=str(real_data / "equities" / "daily"))
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


def _checks(report: dict, symbol: str) -> dict:
    return {k: v["status"] for k, v in report["symbols"][symbol]["checks"].items() if v["status"] != "ok"}


def test_real_equities_pass_validation_with_readme_anomalies(real_data):
    folder = real_data / "equities" / "daily"
    symbols = sorted(p.stem for p in folder.glob("*.csv"))
    bars, report = load_validated("csv", symbols, path=str(folder))
    assert report["status"] == "warn"
    assert _checks(report, "VIX") == {"single_bar_move": "warn", "flat_bars": "warn"}
    assert report["symbols"]["VIX"]["checks"]["flat_bars"]["count"] == 508
    assert "2018-02-05 +115.6%" in str(report["symbols"]["VIX"]["checks"]["single_bar_move"])
    assert "no volume data" in report["symbols"]["VIX"]["checks"]["zero_volume"]["detail"]
    assert all(not _checks(report, s) for s in symbols if s != "VIX")
    assert len(bars["SPY"]) == 8396  # 9/11 closure is not a gap


def test_real_crypto_daily_partial_candle_repaired(real_data):
    bars, report = load_validated("csv", ["BTC/USDT", "ETH/USDT"], path=str(real_data / "crypto" / "1d"))
    assert report["status"] == "repaired"
    for sym in bars:
        assert _checks(report, sym) == {"partial_last_candle": "repaired"}
        assert bars[sym].index[-1] == pd.Timestamp("2026-03-03", tz="UTC")


def test_real_crypto_hourly_outage_gaps_reported_and_repairable(real_data):
    folder = str(real_data / "crypto" / "1h")
    _, report = load_validated("csv", ["BTC/USDT", "ETH/USDT"], "1h", path=folder)
    gaps = report["symbols"]["BTC/USDT"]["checks"]["gaps"]
    assert (gaps["status"], gaps["count"]) == ("warn", 27)
    assert "127 missing bars" in gaps["detail"]
    assert report["symbols"]["BTC/USDT"]["checks"]["zero_volume"]["count"] == 3
    assert report["symbols"]["ETH/USDT"]["checks"]["zero_volume"]["count"] == 5
    cfg = DataValidationConfig.model_validate({"gaps": {"policy": "repair", "max_fill": 40}})
    bars, report = load_validated("csv", ["BTC/USDT"], "1h", path=folder, validation=cfg)
    assert report["symbols"]["BTC/USDT"]["checks"]["gaps"]["status"] == "repaired"
    assert len(bars["BTC/USDT"]) == 45024 + 127


def test_real_crypto_4h_partial_last_candle_needs_clock_or_flag(real_data):
    """The 4h partial candles (59 % / 42 % of median volume) are invisible to the volume rule."""
    folder = str(real_data / "crypto" / "4h")
    _, report = load_validated("csv", ["BTC/USDT"], "4h", path=folder)
    assert report["symbols"]["BTC/USDT"]["checks"]["partial_last_candle"]["status"] == "ok"
    cfg = DataValidationConfig.model_validate({"partial_last_candle": {"assume_partial": True}})
    bars, report = load_validated("csv", ["BTC/USDT", "ETH/USDT"], "4h", path=folder, validation=cfg)
    assert all(len(f) == 18709 for f in bars.values())
    bars, _ = load_validated(
        "csv",
        ["BTC/USDT"],
        "4h",
        path=folder,
        now="2026-03-04T01:00:00Z",
        validation=DataValidationConfig.model_validate({"stale_data": "warn"}),
    )
    assert bars["BTC/USDT"].index[-1] == pd.Timestamp("2026-03-03 20:00", tz="UTC")
