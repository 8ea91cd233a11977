"""Every registered feature is causal: rows <= t never depend on rows > t."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.features import REGISTRY, compute_features
from tests.features._frames import random_bars

N = 420
CUTS = (60, 230, 300)


def _context(bars: pd.DataFrame, same_calendar: bool = False) -> dict[str, pd.DataFrame]:
    """SPY and VIX bars: on the bars' own calendar, or starting earlier on calendar days."""
    if same_calendar:
        spy = random_bars(len(bars), seed=11).set_axis(bars.index)
        vix = random_bars(len(bars), seed=12).set_axis(bars.index)
    else:
        spy = random_bars(N + 90, seed=11, start="2018-11-01", freq="D")
        vix = random_bars(N + 90, seed=12, start="2018-11-01 20:00", freq="D")
    return {"SPY": spy, "VIX": vix.assign(volume=0.0)}


def _perturb_after(df: pd.DataFrame, ts: pd.Timestamp, seed: int) -> pd.DataFrame:
    """Scale every bar stamped after ``ts`` by random factors (keeping OHLC valid)."""
    rng = np.random.default_rng(seed)
    out = df.copy()
    later = out.index > ts
    k = int(later.sum())
    price = rng.uniform(0.5, 2.0, k)
    for col in ("open", "high", "low", "close"):
        out.loc[later, col] = out.loc[later, col].to_numpy() * price
    out.loc[later, "volume"] = out.loc[later, "volume"].to_numpy() * rng.uniform(0.1, 10, k)
    return out


@pytest.mark.parametrize("cut", CUTS)
def test_changing_later_bars_leaves_earlier_rows_identical(cut: int) -> None:
    names = list(REGISTRY)
    bars = random_bars(N, seed=1)
    ctx = _context(bars)
    base = compute_features(bars, names, ctx)
    ts = bars.index[cut]
    changed_ctx = {k: _perturb_after(v, ts, seed=3 + i) for i, (k, v) in enumerate(ctx.items())}
    changed = compute_features(_perturb_after(bars, ts, seed=2), names, changed_ctx)
    pd.testing.assert_frame_equal(base.iloc[: cut + 1], changed.iloc[: cut + 1], check_exact=True)
    # the perturbation is real: most features do change after the cut
    later_diff = (base.iloc[cut + 1 :] != changed.iloc[cut + 1 :]).any()
    assert later_diff.sum() >= len(names) // 2


@pytest.mark.parametrize("cut", CUTS)
def test_truncated_history_gives_identical_prefix(cut: int) -> None:
    names = list(REGISTRY)
    bars = random_bars(N, seed=4)
    ctx = _context(bars)
    full = compute_features(bars, names, ctx)
    ts = bars.index[cut]
    short_ctx = {k: v.loc[v.index <= ts] for k, v in ctx.items()}
    short = compute_features(bars.iloc[: cut + 1], names, short_ctx)
    pd.testing.assert_frame_equal(full.iloc[: cut + 1], short, check_exact=True)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_warmup_is_documented(name: str) -> None:
    bars = random_bars(N, seed=5)
    col = compute_features(bars, [name], _context(bars, same_calendar=True))[name]
    w = REGISTRY[name].warmup
    assert col.iloc[:w].isna().all(), f"{name}: value before documented warm-up {w}"
    assert col.iloc[w:].notna().all(), f"{name}: NaN after documented warm-up {w}"


def test_check_catches_a_leaky_feature(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.features import api
    from bot.features.registry import Feature

    leaky = Feature("leak", lambda b: b["close"].shift(-1) / b["close"], "c_(t+1)/c_t", 0)
    monkeypatch.setitem(api.REGISTRY, "leak", leaky)
    with pytest.raises(AssertionError):
        test_changing_later_bars_leaves_earlier_rows_identical(CUTS[0])
