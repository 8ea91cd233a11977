"""Features of many symbols computed wide (one column per symbol) equal the per-symbol ones, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.data.sample import sample_bars
from bot.features import compute_features, wide

SYMS = ["WA", "WB", "WC", "WD", "WE"]
NAMES = sorted(wide.WIDE_SAFE)


def bars(n: int) -> dict[str, pd.DataFrame]:
    lo, hi = pd.Timestamp("2016-01-01", tz="UTC"), pd.Timestamp("2018-12-31", tz="UTC")
    return {s: sample_bars(s, "1d", lo, hi, seed=3).iloc[:n] for s in SYMS}


def reference(frames: dict[str, pd.DataFrame], names: list[str]) -> np.ndarray:
    return np.vstack([compute_features(df, names).to_numpy(np.float64)[-1] for df in frames.values()])


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a.view(np.int64), b.view(np.int64))


@pytest.mark.parametrize("n", [3, 15, 35, 61, 250, 700])
def test_wide_rows_are_byte_identical(n: int) -> None:
    frames = bars(n)
    got = wide.latest_rows(frames, NAMES)
    assert same_bits(got, reference(frames, NAMES))
    if n >= 250:
        assert not np.isnan(got).any()  # past every warm-up: real values were compared


def test_a_gap_in_one_symbol_falls_back_to_per_symbol_features() -> None:
    frames = bars(300)
    frames["WB"] = frames["WB"].drop(frames["WB"].index[100])
    assert not wide.aligned(frames)
    assert same_bits(wide.latest_rows(frames, NAMES), reference(frames, NAMES))


def test_a_nan_price_keeps_the_wilder_seed_per_column() -> None:
    frames = bars(120)
    frames["WC"] = frames["WC"].copy()
    frames["WC"].iloc[:4, :] = np.nan  # a later first valid row for one column only
    names = ["rsi_7", "rsi_14", "rsi_28"]
    assert same_bits(wide.latest_rows(frames, names), reference(frames, names))
