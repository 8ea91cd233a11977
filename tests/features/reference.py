"""Plain-Python reference implementations of every feature (loops, no pandas).

Each reference takes a ``Bars`` of plain lists (and a context of ``Bars``) and returns a list of
floats with NaN during warm-up. They are written from the textbook definitions, independently of
the vectorised code in bot.features.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

NAN = float("nan")


@dataclass(frozen=True)
class Bars:
    ts: list[datetime]
    o: list[float]
    h: list[float]
    lo: list[float]
    c: list[float]
    v: list[float]


Ctx = dict[str, Bars]
Ref = Callable[[Bars, Ctx], list[float]]


def isnan(x: float) -> bool:
    return math.isnan(x)


def window(x: list[float], i: int, n: int) -> list[float] | None:
    """Return x[i-n+1 .. i] if complete and NaN-free, else None."""
    if i - n + 1 < 0:
        return None
    w = x[i - n + 1 : i + 1]
    return None if any(isnan(a) for a in w) else w


def mean(w: list[float]) -> float:
    return sum(w) / len(w)


def std(w: list[float], ddof: int) -> float:
    m = mean(w)
    return math.sqrt(sum((a - m) ** 2 for a in w) / (len(w) - ddof))


def roll(x: list[float], n: int, f: Callable[[list[float]], float]) -> list[float]:
    out = []
    for i in range(len(x)):
        w = window(x, i, n)
        out.append(NAN if w is None else f(w))
    return out


def div(a: float, b: float) -> float:
    return NAN if isnan(a) or isnan(b) or b == 0 else a / b


def zipmap(f: Callable[..., float], *xs: list[float]) -> list[float]:
    return [NAN if any(isnan(a) for a in args) else f(*args) for args in zip(*xs, strict=True)]


def ema(x: list[float], span: int) -> list[float]:
    a = 2.0 / (span + 1)
    out, e, seen = [], NAN, 0
    for v in x:
        if isnan(v):
            out.append(NAN)
            continue
        e = v if seen == 0 else a * v + (1 - a) * e
        seen += 1
        out.append(e if seen >= span else NAN)
    return out


def ema_unmasked(x: list[float], span: int) -> list[float]:
    """EMA from the first row without masking the warm-up (what MACD's lines are built from)."""
    a = 2.0 / (span + 1)
    out, e = [], x[0]
    for v in x:
        e = a * v + (1 - a) * e
        out.append(e)
    return out


def wilder(x: list[float], n: int) -> list[float]:
    out = [NAN] * len(x)
    first = next(i for i, a in enumerate(x) if not isnan(a))
    seed = first + n - 1
    y = mean(x[first : seed + 1])
    out[seed] = y
    for i in range(seed + 1, len(x)):
        y = y + (x[i] - y) / n
        out[i] = y
    return out


def shift(x: list[float], k: int) -> list[float]:
    return [NAN] * k + x[: len(x) - k]


# ---- price -------------------------------------------------------------------------------


def ret(b: Bars, n: int) -> list[float]:
    return [NAN] * n + [b.c[i] / b.c[i - n] - 1 for i in range(n, len(b.c))]


def log_ret(b: Bars) -> list[float]:
    return [NAN] + [math.log(b.c[i] / b.c[i - 1]) for i in range(1, len(b.c))]


def vol(b: Bars, n: int) -> list[float]:
    return roll(log_ret(b), n, lambda w: std(w, 1))


def close_over(b: Bars, ma: list[float]) -> list[float]:
    return zipmap(lambda c, m: c / m - 1, b.c, ma)


def parkinson(b: Bars, n: int) -> list[float]:
    hl2 = [math.log(h / lo) ** 2 for h, lo in zip(b.h, b.lo, strict=True)]
    return roll(hl2, n, lambda w: math.sqrt(mean(w) / (4 * math.log(2))))


# ---- oscillators -------------------------------------------------------------------------


def rsi(b: Bars, n: int) -> list[float]:
    d = [NAN] + [b.c[i] - b.c[i - 1] for i in range(1, len(b.c))]
    g = wilder([NAN if isnan(a) else max(a, 0.0) for a in d], n)
    lo = wilder([NAN if isnan(a) else max(-a, 0.0) for a in d], n)
    return zipmap(lambda x, y: 50.0 if x + y == 0 else 100 - 100 / (1 + x / y) if y else 100.0, g, lo)


def macd_line(b: Bars) -> list[float]:
    line = [x - y for x, y in zip(ema_unmasked(b.c, 12), ema_unmasked(b.c, 26), strict=True)]
    return [NAN] * 25 + line[25:]


def ppo_line(b: Bars) -> list[float]:
    line = [x / y - 1 for x, y in zip(ema_unmasked(b.c, 12), ema_unmasked(b.c, 26), strict=True)]
    return [NAN] * 25 + line[25:]


def hh(x: list[float], n: int) -> list[float]:
    return roll(x, n, max)


def ll(x: list[float], n: int) -> list[float]:
    return roll(x, n, min)


def stoch_k(b: Bars, n: int) -> list[float]:
    return zipmap(lambda c, h, lo: 100 * div(c - lo, h - lo), b.c, hh(b.h, n), ll(b.lo, n))


def williams(b: Bars, n: int) -> list[float]:
    return zipmap(lambda c, h, lo: -100 * div(h - c, h - lo), b.c, hh(b.h, n), ll(b.lo, n))


# ---- bands and trend ---------------------------------------------------------------------


def bollinger(b: Bars) -> tuple[list[float], list[float], list[float]]:
    mid = roll(b.c, 20, mean)
    sd = roll(b.c, 20, lambda w: std(w, 0))
    lower = zipmap(lambda m, s: m - 2 * s, mid, sd)
    upper = zipmap(lambda m, s: m + 2 * s, mid, sd)
    return lower, mid, upper


def true_range(b: Bars) -> list[float]:
    out = [NAN]
    for i in range(1, len(b.c)):
        pc = b.c[i - 1]
        out.append(max(b.h[i] - b.lo[i], abs(b.h[i] - pc), abs(b.lo[i] - pc)))
    return out


def directional(b: Bars, n: int) -> tuple[list[float], list[float]]:
    pdm, mdm = [NAN], [NAN]
    for i in range(1, len(b.c)):
        up, down = b.h[i] - b.h[i - 1], b.lo[i - 1] - b.lo[i]
        pdm.append(up if up > down and up > 0 else 0.0)
        mdm.append(down if down > up and down > 0 else 0.0)
    tr = wilder(true_range(b), n)
    pdi = zipmap(lambda a, t: 100 * div(a, t), wilder(pdm, n), tr)
    mdi = zipmap(lambda a, t: 100 * div(a, t), wilder(mdm, n), tr)
    return pdi, mdi


def adx(b: Bars, n: int) -> list[float]:
    pdi, mdi = directional(b, n)
    dx = zipmap(lambda p, m: 0.0 if p + m == 0 else 100 * abs(p - m) / (p + m), pdi, mdi)
    return wilder(dx, n)


def mid(b: Bars, n: int) -> list[float]:
    return zipmap(lambda h, lo: (h + lo) / 2, hh(b.h, n), ll(b.lo, n))


def span_a(b: Bars) -> list[float]:
    return zipmap(lambda t, k: (t + k) / 2, mid(b, 9), mid(b, 26))


# ---- volume ------------------------------------------------------------------------------


def sign(x: float) -> float:
    return 0.0 if x == 0 else math.copysign(1.0, x)


def obv_flow(b: Bars, n: int) -> list[float]:
    out = [NAN] * len(b.c)
    for i in range(n, len(b.c)):
        rng = range(i - n + 1, i + 1)
        num = sum(sign(b.c[j] - b.c[j - 1]) * b.v[j] for j in rng)
        out[i] = div(num, sum(b.v[j] for j in rng))
    return out


def vwap_ratio(b: Bars, n: int) -> list[float]:
    out = [NAN] * len(b.c)
    for i in range(n - 1, len(b.c)):
        rng = range(i - n + 1, i + 1)
        pv = sum((b.h[j] + b.lo[j] + b.c[j]) / 3 * b.v[j] for j in rng)
        out[i] = b.c[i] / div(pv, sum(b.v[j] for j in rng)) - 1
    return out


def volume_z(b: Bars, n: int) -> list[float]:
    return roll(b.v, n, lambda w: div(w[-1] - mean(w), std(w, 1)))


def cmf(b: Bars, n: int) -> list[float]:
    mfm = [0.0 if h == lo else ((c - lo) - (h - c)) / (h - lo) for h, lo, c in zip(b.h, b.lo, b.c, strict=True)]
    mv = [m * v for m, v in zip(mfm, b.v, strict=True)]
    return zipmap(div, roll(mv, n, sum), roll(b.v, n, sum))


# ---- cross-asset -------------------------------------------------------------------------


def asof(ctx: Bars, values: list[float], ts: list[datetime]) -> list[float]:
    out = []
    for t in ts:
        j = -1
        for k, s in enumerate(ctx.ts):
            if s <= t:
                j = k
        out.append(NAN if j < 0 else values[j])
    return out


def spy_ret(b: Bars, ctx: Ctx) -> list[float]:
    s = ctx["SPY"]
    return asof(s, ret(s, 20), b.ts)
