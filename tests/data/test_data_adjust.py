"""Raw vs adjusted price series, recorded in attrs and in the validation report."""

from __future__ import annotations

import numpy as np
import pytest

from bot.data import load_bars, load_validated


def test_adjusted_prices_follow_adj_close(write_csv):
    rows = ["2020-01-02,10,11,9,10,1000,5", "2020-01-03,20,22,18,20,1000,10"]
    folder = write_csv("T", rows, header="date,open,high,low,close,volume,adj_close")
    raw = load_bars("csv", ["T"], path=str(folder))["T"]
    adj = load_bars("csv", ["T"], path=str(folder), prices="adjusted")["T"]
    assert raw.attrs["prices"] == "raw" and adj.attrs["prices"] == "adjusted"
    assert "adj_close" in raw.columns and "adj_close" not in adj.columns
    np.testing.assert_allclose(adj["close"], [5, 10])
    np.testing.assert_allclose(adj["high"], [5.5, 11])
    np.testing.assert_allclose(adj["volume"], raw["volume"])


def test_adjusted_without_adj_close_stays_raw_and_is_reported(write_csv):
    folder = write_csv("T", ["2020-01-02,10,11,9,10,1000", "2020-01-03,20,22,18,20,1000"])
    bars, report = load_validated("csv", ["T"], path=str(folder), prices="adjusted")
    assert bars["T"].attrs["prices"] == "raw (no adj_close)"
    assert report["symbols"]["T"]["prices"] == "raw (no adj_close)"


def test_real_adjusted_series_is_consistent(real_data):
    adj = load_bars("csv", ["AAPL"], path=str(real_data / "equities" / "daily"), prices="adjusted")["AAPL"]
    raw = load_bars("csv", ["AAPL"], path=str(real_data / "equities" / "daily"))["AAPL"]
    np.testing.assert_allclose(adj["close"], raw["adj_close"])
    assert (adj["high"] >= adj[["open", "close"]].max(axis=1) * (1 - 1e-12)).all()
    assert adj["close"].iloc[0] == pytest.approx(raw["adj_close"].iloc[0])
