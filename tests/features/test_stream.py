"""Features streamed bar by bar (bot/features/stream.py) equal ``compute_features``, bit for bit, at every bar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.data.sample import sample_bars
from bot.features import compute_features, stream
from tests.features._frames import random_bars

NAMES = sorted(stream.STREAMS)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a.view(np.int64), b.view(np.int64))


def streamed(bars: pd.DataFrame, names: list[str]) -> np.ndarray:
    s = stream.SymbolStream([stream.STREAMS[n]() for n in names])
    rows = []
    for i in range(len(bars)):
        s.feed(bars.iloc[: i + 1], i)
        rows.append(s.row)
    return np.vstack(rows)


def flat_then_moving(n: int) -> pd.DataFrame:
    """Constant prices (RSI 50, equal values in every window), then a walk with repeated closes."""
    bars = random_bars(n, seed=5)
    bars.iloc[: n // 3, :4] = 42.0
    bars.iloc[n // 2 : n // 2 + 30, 3] = bars.iloc[n // 2, 3]
    bars["high"] = bars[["open", "high", "close"]].max(axis=1)
    bars["low"] = bars[["open", "low", "close"]].min(axis=1)
    return bars


def nan_rows_first(n: int) -> pd.DataFrame:
    bars = random_bars(n, seed=2)
    bars.iloc[:7, :] = np.nan  # a later first valid row (the Wilder seed starts there)
    return bars


CASES = {
    "sample daily": lambda: sample_bars(
        "ST", "1d", pd.Timestamp("2015-01-01", tz="UTC"), pd.Timestamp("2017-12-31", tz="UTC"), seed=4
    ),
    "random walk": lambda: random_bars(500, seed=11),
    "flat, then repeated closes": lambda: flat_then_moving(400),
    "nan rows first": lambda: nan_rows_first(300),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_streamed_value_equals_the_full_computation(case: str) -> None:
    bars = CASES[case]()
    want = compute_features(bars, NAMES).to_numpy(np.float64)
    got = streamed(bars, NAMES)
    for j, name in enumerate(NAMES):
        assert same_bits(got[:, j], want[:, j]), f"{name}: first difference at row " + str(
            int(np.argmax(got[:, j].view(np.int64) != want[:, j].view(np.int64)))
        )
    assert not np.isnan(got[-1]).any()  # past every warm-up: real values were compared


def test_streams_follow_a_growing_history_and_restart_on_a_new_one() -> None:
    bars = random_bars(400, seed=3)
    fs = stream.FeatureStreams(["rsi_14", "ppo_hist", "close_sma_50", "vol_20"])
    assert fs.names == ["rsi_14", "ppo_hist", "close_sma_50"]  # vol_20 is not streamed
    for n in (250, 251, 255, 400):  # one bar, then several at once
        got = fs.latest({"A": bars.iloc[:n]})["A"]
        assert same_bits(got, compute_features(bars.iloc[:n], fs.names).to_numpy(np.float64)[-1])
    shifted = bars.iloc[10:300]  # not the history seen so far: streamed again from its start
    assert same_bits(fs.latest({"A": shifted})["A"], compute_features(shifted, fs.names).to_numpy(np.float64)[-1])


def test_a_gap_inside_an_ewm_is_left_to_the_full_computation() -> None:
    bars = random_bars(200, seed=8)
    bars.iloc[120, :] = np.nan
    fs = stream.FeatureStreams(["ppo"])
    assert fs.latest({"A": bars}) == {} and fs.broken == {"A"}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("horizon,lookback", [(1, 252), (5, 40)])
def test_the_streamed_payoff_ratio_equals_payoff_ratio(case: str, horizon: int, lookback: int) -> None:
    from bot.risk.sizing import payoff_ratio, payoff_update

    bars = CASES[case]()
    want = payoff_ratio(bars["close"], horizon, lookback).to_numpy(np.float64)
    s = stream.SymbolStream([payoff_update(horizon, lookback)])
    got = []
    for i in range(len(bars)):
        s.feed(bars.iloc[: i + 1], i)
        got.append(s.row[0])
    assert same_bits(np.array(got), want)
    assert not np.isnan(got[-1])


def test_streams_that_differ_from_the_full_computation_are_switched_off(monkeypatch) -> None:
    """A pandas whose kernels changed must not make live features differ from backtests: priming
    compares every symbol's newest streamed row with the full computation and falls back."""
    bars = {"A": random_bars(300, seed=4), "B": random_bars(300, seed=6)}
    rows = stream.LatestRows(["rsi_14", "close_sma_10", "vol_20"])
    rows.prime(bars)
    assert rows.streams.names == ["rsi_14", "close_sma_10"]  # they agree: streaming stays on
    broken = stream.LatestRows(["rsi_14", "close_sma_10", "vol_20"])
    monkeypatch.setitem(stream.STREAMS, "rsi_14", lambda: lambda bar: 1.0)  # a stream that disagrees
    broken.streams = stream.FeatureStreams(broken.names)
    broken.prime(bars)
    assert broken.streams.names == []
    want = np.vstack([compute_features(df, broken.names).to_numpy(np.float64)[-1] for df in bars.values()])
    assert same_bits(broken(bars), want)


def test_a_payoff_stream_that_differs_is_switched_off(monkeypatch) -> None:
    import strategies.ml_signal as ml
    from bot.config import RiskConfig
    from bot.risk.sizing import payoff_ratio

    bars = {"A": random_bars(300, seed=4), "B": random_bars(300, seed=6)}
    monkeypatch.setattr(ml, "payoff_update", lambda h, lb: lambda bar: 1.0)
    strat = ml.MlSignalStrategy(ml.MlSignalParams(), RiskConfig())
    got = strat.latest_signals(bars, {})
    for sym, df in bars.items():
        assert same_bits(np.array([got[sym]["payoff"]]), payoff_ratio(df["close"], 1, 252).to_numpy()[-1:])
