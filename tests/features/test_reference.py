"""Every registered feature equals its plain-Python reference (tests/features/reference.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.features import REGISTRY, compute_features
from tests.features._frames import random_bars, tiny_bars
from tests.features.reference import Bars
from tests.features.reference_table import REFERENCE

N = 260


def to_lists(df: pd.DataFrame) -> Bars:
    return Bars(
        ts=[t.to_pydatetime() for t in df.index],
        o=df["open"].tolist(),
        h=df["high"].tolist(),
        lo=df["low"].tolist(),
        c=df["close"].tolist(),
        v=df["volume"].tolist(),
    )


def context() -> dict[str, pd.DataFrame]:
    """SPY stamped 21:00 UTC on a calendar with holes; VIX on calendar days (weekends too)."""
    spy = random_bars(N + 300, seed=21, start="2019-04-01 21:00", freq="D")
    spy = spy[spy.index.day_of_week < 5]
    spy = spy.drop(spy.index[[100, 101, 150, 260]])
    vix = random_bars(N + 80, seed=22, start="2019-10-15", freq="D").assign(volume=0.0)
    return {"SPY": spy, "VIX": vix}


BARS = tiny_bars(N)
CTX = context()
GOT = compute_features(BARS, list(REGISTRY), CTX)
REF_BARS = to_lists(BARS)
REF_CTX = {k: to_lists(v) for k, v in CTX.items()}


def test_every_feature_has_a_reference() -> None:
    assert set(REFERENCE) == set(REGISTRY)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_feature_matches_reference(name: str) -> None:
    want = np.array(REFERENCE[name](REF_BARS, REF_CTX), dtype="float64")
    got = GOT[name].to_numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{name}: NaN pattern")
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=name)
    assert np.isfinite(want).sum() >= 50, f"{name}: reference too short to mean anything"
