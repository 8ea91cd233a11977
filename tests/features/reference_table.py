"""Name -> plain-Python reference for every registered feature."""

from __future__ import annotations

from tests.features import reference as r
from tests.features.reference import Bars, Ctx, Ref


def _ratio(a: list[float], b: list[float]) -> list[float]:
    return r.zipmap(lambda x, y: x / y - 1, a, b)


def _sub(a: list[float], b: list[float]) -> list[float]:
    return r.zipmap(lambda x, y: x - y, a, b)


def _price() -> dict[str, Ref]:
    t: dict[str, Ref] = {}
    for n in (1, 2, 3, 5, 10, 20, 60, 120):
        t[f"ret_{n}"] = lambda b, _c, n=n: r.ret(b, n)
    for k in (1, 2, 3, 5):
        t[f"ret_1_lag{k}"] = lambda b, _c, k=k: r.shift(r.ret(b, 1), k)
    for n in (5, 10, 20, 50, 100, 200):
        t[f"close_sma_{n}"] = lambda b, _c, n=n: r.close_over(b, r.roll(b.c, n, r.mean))
    for n in (12, 26, 50, 200):
        t[f"close_ema_{n}"] = lambda b, _c, n=n: r.close_over(b, r.ema(b.c, n))
    for f, s in ((10, 50), (50, 200)):
        t[f"sma_{f}_{s}"] = lambda b, _c, f=f, s=s: _ratio(r.roll(b.c, f, r.mean), r.roll(b.c, s, r.mean))
    for n in (5, 10, 20, 60):
        t[f"vol_{n}"] = lambda b, _c, n=n: r.vol(b, n)
    t["vol_ratio_5_60"] = lambda b, _c: r.zipmap(r.div, r.vol(b, 5), r.vol(b, 60))
    t["parkinson_20"] = lambda b, _c: r.parkinson(b, 20)
    return t


def _oscillators() -> dict[str, Ref]:
    t: dict[str, Ref] = {}
    for n in (7, 14, 28):
        t[f"rsi_{n}"] = lambda b, _c, n=n: r.rsi(b, n)
    t["macd"] = lambda b, _c: r.macd_line(b)
    t["macd_signal"] = lambda b, _c: r.ema(r.macd_line(b), 9)
    t["macd_hist"] = lambda b, _c: _sub(r.macd_line(b), r.ema(r.macd_line(b), 9))
    t["ppo"] = lambda b, _c: r.ppo_line(b)
    t["ppo_signal"] = lambda b, _c: r.ema(r.ppo_line(b), 9)
    t["ppo_hist"] = lambda b, _c: _sub(r.ppo_line(b), r.ema(r.ppo_line(b), 9))
    t["stoch_k_14"] = lambda b, _c: r.stoch_k(b, 14)
    t["stoch_d_14"] = lambda b, _c: r.roll(r.stoch_k(b, 14), 3, r.mean)
    t["williams_r_14"] = lambda b, _c: r.williams(b, 14)
    return t


def _pctb(b: Bars) -> list[float]:
    lower, _, upper = r.bollinger(b)
    return r.zipmap(lambda c, lo, up: r.div(c - lo, up - lo), b.c, lower, upper)


def _bands_trend() -> dict[str, Ref]:
    t: dict[str, Ref] = {}
    t["bb_pctb_20"] = lambda b, _c: _pctb(b)
    t["bb_width_20"] = lambda b, _c: r.zipmap(lambda lo, m, up: (up - lo) / m, *r.bollinger(b))
    t["bb_upper_20"] = lambda b, _c: r.close_over(b, r.bollinger(b)[2])
    t["bb_lower_20"] = lambda b, _c: r.close_over(b, r.bollinger(b)[0])
    t["natr_14"] = lambda b, _c: r.zipmap(lambda a, c: a / c, r.wilder(r.true_range(b), 14), b.c)
    t["adx_14"] = lambda b, _c: r.adx(b, 14)
    t["plus_di_14"] = lambda b, _c: r.directional(b, 14)[0]
    t["minus_di_14"] = lambda b, _c: r.directional(b, 14)[1]
    t["ichi_tenkan"] = lambda b, _c: r.close_over(b, r.mid(b, 9))
    t["ichi_kijun"] = lambda b, _c: r.close_over(b, r.mid(b, 26))
    t["ichi_tk"] = lambda b, _c: _ratio(r.mid(b, 9), r.mid(b, 26))
    t["ichi_span_a"] = lambda b, _c: r.close_over(b, r.span_a(b))
    t["ichi_span_b"] = lambda b, _c: r.close_over(b, r.mid(b, 52))
    t["ichi_cloud_a"] = lambda b, _c: r.close_over(b, r.shift(r.span_a(b), 26))
    t["ichi_cloud_b"] = lambda b, _c: r.close_over(b, r.shift(r.mid(b, 52), 26))
    t["ichi_chikou"] = lambda b, _c: r.ret(b, 26)
    return t


def _volume_calendar() -> dict[str, Ref]:
    t: dict[str, Ref] = {}
    t["obv_20"] = lambda b, _c: r.obv_flow(b, 20)
    t["vwap_20"] = lambda b, _c: r.vwap_ratio(b, 20)
    t["volume_z_20"] = lambda b, _c: r.volume_z(b, 20)
    t["volume_ratio_5_20"] = lambda b, _c: _ratio(r.roll(b.v, 5, r.mean), r.roll(b.v, 20, r.mean))
    t["cmf_20"] = lambda b, _c: r.cmf(b, 20)
    t["day_of_week"] = lambda b, _c: [float(d.weekday()) for d in b.ts]
    t["month"] = lambda b, _c: [float(d.month) for d in b.ts]
    t["day_of_month"] = lambda b, _c: [float(d.day) for d in b.ts]
    return t


def _interactions() -> dict[str, Ref]:
    t: dict[str, Ref] = {}
    t["rsi_x_mom_20"] = lambda b, _c: r.zipmap(lambda x, m: (x - 50) / 50 * m, r.rsi(b, 14), r.ret(b, 20))
    t["mom_over_vol_20"] = lambda b, _c: r.zipmap(r.div, r.ret(b, 20), r.vol(b, 20))
    t["pctb_x_volume_z_20"] = lambda b, _c: r.zipmap(lambda p, z: (p - 0.5) * z, _pctb(b), r.volume_z(b, 20))
    return t


def _spy_regime(b: Bars, ctx: Ctx) -> list[float]:
    s = ctx["SPY"]
    return r.asof(s, r.close_over(s, r.roll(s.c, 200, r.mean)), b.ts)


def _cross() -> dict[str, Ref]:
    t: dict[str, Ref] = {}
    t["spy_regime_200"] = _spy_regime
    t["spy_ret_20"] = r.spy_ret
    t["rel_ret_20"] = lambda b, c: _sub(r.ret(b, 20), r.spy_ret(b, c))
    t["vix_level"] = lambda b, c: r.asof(c["VIX"], c["VIX"].c, b.ts)
    t["vix_chg_5"] = lambda b, c: r.asof(c["VIX"], r.ret(c["VIX"], 5), b.ts)
    return t


REFERENCE: dict[str, Ref] = {
    **_price(),
    **_oscillators(),
    **_bands_trend(),
    **_volume_calendar(),
    **_interactions(),
    **_cross(),
}

__all__ = ["REFERENCE"]
