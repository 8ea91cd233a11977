"""Starter features against values computed with plain Python loops."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.features import compute_features
from tests.features._frames import tiny_bars, tiny_closes

NAN = float("nan")
C = tiny_closes(60)


def ema_loop(x: list[float], span: int) -> list[float]:
    """EMA with adjust=False seeded at the first non-NaN value; first span-1 valid rows NaN."""
    a = 2.0 / (span + 1)
    out, e, seen = [], None, 0
    for v in x:
        if math.isnan(v):
            out.append(NAN)
            continue
        e = v if e is None else a * v + (1 - a) * e
        seen += 1
        out.append(e if seen >= span else NAN)
    return out


def ema_raw(x: list[float], span: int) -> list[float]:
    """EMA from the first row, no warm-up masking."""
    a = 2.0 / (span + 1)
    out, e = [], x[0]
    for v in x:
        e = a * v + (1 - a) * e
        out.append(e)
    return out


def rsi_loop(c: list[float], n: int) -> list[float]:
    out = [NAN] * len(c)
    gains = [max(c[i] - c[i - 1], 0.0) for i in range(1, len(c))]
    losses = [max(c[i - 1] - c[i], 0.0) for i in range(1, len(c))]
    ag, al = sum(gains[:n]) / n, sum(losses[:n]) / n
    out[n] = 100 - 100 / (1 + ag / al)
    for i in range(n, len(gains)):
        ag = (ag * (n - 1) + gains[i]) / n
        al = (al * (n - 1) + losses[i]) / n
        out[i + 1] = 100 - 100 / (1 + ag / al)
    return out


def expected() -> dict[str, list[float]]:
    n = len(C)
    exp: dict[str, list[float]] = {}
    for k in (1, 5, 20):
        exp[f"ret_{k}"] = [NAN] * k + [C[i] / C[i - k] - 1 for i in range(k, n)]
    for k in (10, 50):
        exp[f"close_sma_{k}"] = [NAN] * (k - 1) + [C[i] / (sum(C[i - k + 1 : i + 1]) / k) - 1 for i in range(k - 1, n)]
    lr = [NAN] + [math.log(C[i] / C[i - 1]) for i in range(1, n)]
    vol = [NAN] * 20
    for i in range(20, n):
        w = lr[i - 19 : i + 1]
        m = sum(w) / 20
        vol.append(math.sqrt(sum((x - m) ** 2 for x in w) / 19))
    exp["vol_20"] = vol
    exp["rsi_14"] = rsi_loop(C, 14)
    line = [a - b for a, b in zip(ema_raw(C, 12), ema_raw(C, 26), strict=True)]
    line = [NAN] * 25 + line[25:]
    sig = ema_loop(line, 9)
    exp["macd"] = line
    exp["macd_signal"] = sig
    exp["macd_hist"] = [a - b for a, b in zip(line, sig, strict=True)]
    return exp


EXPECTED = expected()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_starter_feature_matches_loop(name: str) -> None:
    got = compute_features(tiny_bars(60), [name])[name].to_numpy()
    np.testing.assert_allclose(got, np.array(EXPECTED[name]), rtol=1e-10, atol=1e-12)


def test_first_values_by_hand() -> None:
    bars = tiny_bars(60)
    out = compute_features(bars, ["ret_1", "close_sma_10"])
    assert out["ret_1"].iloc[1] == pytest.approx(C[1] / C[0] - 1)
    assert math.isnan(out["close_sma_10"].iloc[8])
    assert out["close_sma_10"].iloc[9] == pytest.approx(C[9] / (sum(C[:10]) / 10) - 1)


def test_rsi_extremes() -> None:
    bars = tiny_bars(30)
    up = bars.assign(close=[float(10 + i) for i in range(30)])
    flat = bars.assign(close=[10.0] * 30)
    assert compute_features(up, ["rsi_14"])["rsi_14"].iloc[14:].eq(100.0).all()
    assert compute_features(flat, ["rsi_14"])["rsi_14"].iloc[14:].eq(50.0).all()
