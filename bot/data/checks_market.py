"""Market checks: partial last candle, calendar gaps, big moves, zero volume, flat bars, staleness,
history length. Same ``find``/``repair`` contract as ``checks_integrity``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.config.data_validation import (
    SPECIAL_CLOSURES,
    FlatBarCheck,
    GapCheck,
    HistoryCheck,
    MoveCheck,
    PartialCandleCheck,
    StaleCheck,
    ZeroVolumeCheck,
)
from bot.data.checks_common import OK, Context, Finding, runs

_CLOSURES = np.array(SPECIAL_CLOSURES, dtype="datetime64[D]")
WEEKEND_SLACK = pd.Timedelta(days=3)


def _partial_count(frame: pd.DataFrame, cfg: PartialCandleCheck, ctx: Context) -> tuple[int, str]:
    if ctx.now is not None:
        n = int((frame.index + ctx.bar > ctx.now).sum())
        if n:
            return n, f"{n} bars still open at {ctx.stamp(ctx.now)}"
    if cfg.assume_partial and len(frame):
        return 1, "last bar assumed partial (assume_partial)"
    if not ctx.is_24_7 or len(frame) <= cfg.lookback:
        return 0, ""
    vol = frame["volume"].to_numpy()
    median = float(np.median(vol[-cfg.lookback - 1 : -1]))
    if median > 0 and vol[-1] < cfg.volume_ratio * median:
        return 1, (f"last bar volume {vol[-1]:g} is {vol[-1] / median:.1%} of the {cfg.lookback}-bar median {median:g}")
    return 0, ""


def find_partial(frame: pd.DataFrame, cfg: PartialCandleCheck, ctx: Context) -> Finding:
    """Detect still-forming candle(s) at the end of the data."""
    n, detail = _partial_count(frame, cfg, ctx)
    return Finding(n, frame.index[-n], f"{ctx.stamp(frame.index[-n])}: {detail}") if n else OK


def repair_partial(frame: pd.DataFrame, cfg: PartialCandleCheck, ctx: Context) -> tuple[pd.DataFrame, int]:
    """Drop the partial candle(s)."""
    n, _ = _partial_count(frame, cfg, ctx)
    return (frame.iloc[:-n] if n else frame), 0


def _gap_table(frame: pd.DataFrame, cfg: GapCheck, ctx: Context) -> pd.DataFrame:
    """Return one row per gap: position of the bar before it and how many bars are missing."""
    if len(frame) < 2:
        return pd.DataFrame({"pos": [], "missing": []}, dtype="int64")
    if ctx.is_24_7:
        steps = np.diff(frame.index.as_unit("ns").asi8) / ctx.bar.value
        missing = np.maximum(np.round(steps).astype("int64") - 1, 0)
        flagged = missing > 0
    else:
        days = frame.index.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[D]")
        nxt = days[1:]
        missing = np.busday_count(days[:-1] + 1, nxt, holidays=_CLOSURES).astype("int64")
        missing = np.where(nxt > days[:-1], missing, 0)
        flagged = missing > cfg.max_missing_weekdays
    pos = np.flatnonzero(flagged)
    return pd.DataFrame({"pos": pos, "missing": missing[pos]})


def find_gaps(frame: pd.DataFrame, cfg: GapCheck, ctx: Context) -> Finding:
    """Count gaps beyond the calendar (missing 24/7 candles, or long weekday gaps)."""
    gaps = _gap_table(frame, cfg, ctx)
    if gaps.empty:
        return OK
    big = gaps.loc[gaps["missing"].idxmax()]
    first = frame.index[int(gaps["pos"].iloc[0]) + 1]
    unit = "bars" if ctx.is_24_7 else "weekdays"
    return Finding(
        len(gaps),
        first,
        (
            f"{len(gaps)} gaps, {int(gaps['missing'].sum())} missing {unit}, largest "
            f"{int(big['missing'])} after {ctx.stamp(frame.index[int(big['pos'])])}"
        ),
    )


def _fill_index(frame: pd.DataFrame, pos: int, missing: int, ctx: Context) -> pd.DatetimeIndex:
    start = frame.index[pos]
    if ctx.is_24_7:
        return pd.date_range(start + ctx.bar, periods=missing, freq=ctx.bar)
    days = pd.bdate_range(start + pd.Timedelta(days=1), frame.index[pos + 1] - pd.Timedelta(days=1))
    keep = ~days.normalize().tz_localize(None).isin(pd.DatetimeIndex(SPECIAL_CLOSURES))
    return days[keep]


def repair_gaps(frame: pd.DataFrame, cfg: GapCheck, ctx: Context) -> tuple[pd.DataFrame, int]:
    """Fill gaps of up to ``max_fill`` bars with flat zero-volume bars at the previous close."""
    gaps = _gap_table(frame, cfg, ctx)
    small = gaps[gaps["missing"] <= cfg.max_fill]
    if small.empty or (not ctx.is_24_7 and ctx.bar < pd.Timedelta(days=1)):
        return frame, len(gaps)
    fills = []
    for pos, missing in zip(small["pos"], small["missing"], strict=True):
        idx = _fill_index(frame, int(pos), int(missing), ctx)
        close = float(frame["close"].iloc[int(pos)])
        row = {c: close for c in frame.columns if c != "volume"}
        if "adj_close" in frame.columns:
            row["adj_close"] = float(frame["adj_close"].iloc[int(pos)])
        fills.append(pd.DataFrame({**row, "volume": 0.0}, index=idx)[list(frame.columns)])
    out = pd.concat([frame, *fills]).sort_index(kind="stable")
    out.index.name = frame.index.name
    return out, len(gaps) - len(small)


def _moves(frame: pd.DataFrame) -> np.ndarray:
    close = frame["close"].to_numpy()
    out = np.zeros(len(close))
    out[1:] = close[1:] / close[:-1] - 1.0
    return out


def find_moves(frame: pd.DataFrame, cfg: MoveCheck, ctx: Context) -> Finding:
    """Count close-to-close moves larger than ``max_move``."""
    r = _moves(frame)
    big = np.abs(r) > cfg.max_move
    n = int(big.sum())
    if not n:
        return OK
    hits = np.flatnonzero(big)
    top = sorted(hits, key=lambda i: -abs(r[i]))[:3]
    listed = ", ".join(f"{ctx.stamp(frame.index[i])} {r[i]:+.1%}" for i in top)
    return Finding(n, frame.index[hits[0]], f"{n} moves above {cfg.max_move:.0%}, largest: {listed}")


def repair_moves(frame: pd.DataFrame, cfg: MoveCheck, ctx: Context) -> tuple[pd.DataFrame, int]:
    """Drop isolated spikes (a big move that the next bar takes back); keep real level shifts."""
    r = _moves(frame)
    close = frame["close"].to_numpy()
    big = np.flatnonzero(np.abs(r) > cfg.max_move)
    spikes = [i for i in big if 0 < i < len(close) - 1 and abs(close[i + 1] / close[i - 1] - 1.0) <= cfg.max_move]
    keep = np.ones(len(frame), dtype=bool)
    keep[spikes] = False
    return frame.loc[keep], len(big) - len(spikes)


def _zero_runs(frame: pd.DataFrame, cfg: ZeroVolumeCheck) -> list[tuple[int, int]]:
    vol = frame["volume"].to_numpy()
    if len(vol) == 0 or not (vol != 0).any():
        return []
    return runs(vol == 0, cfg.min_run)


def find_zero_volume(frame: pd.DataFrame, cfg: ZeroVolumeCheck, ctx: Context) -> Finding:
    """Count zero-volume bars in runs of ``min_run`` or more (all-zero volume: no volume data)."""
    found = _zero_runs(frame, cfg)
    if not found:
        all_zero = len(frame) > 0 and not (frame["volume"].to_numpy() != 0).any()
        return Finding(0, None, "no volume data (volume is always 0)") if all_zero else OK
    n = sum(b - a for a, b in found)
    longest = max(b - a for a, b in found)
    first = frame.index[found[0][0]]
    return Finding(n, first, f"{n} zero-volume bars in {len(found)} runs (longest {longest}, first {ctx.stamp(first)})")


def repair_zero_volume(frame: pd.DataFrame, cfg: ZeroVolumeCheck, ctx: Context) -> tuple[pd.DataFrame, int]:
    """Drop zero-volume bars in runs of ``min_run`` or more."""
    keep = np.ones(len(frame), dtype=bool)
    for a, b in _zero_runs(frame, cfg):
        keep[a:b] = False
    return frame.loc[keep], 0


def _flat_runs(frame: pd.DataFrame, cfg: FlatBarCheck) -> list[tuple[int, int]]:
    o, h, lo, c = (frame[k].to_numpy() for k in ("open", "high", "low", "close"))
    return runs((o == h) & (h == lo) & (lo == c), cfg.min_run)


def find_flat(frame: pd.DataFrame, cfg: FlatBarCheck, ctx: Context) -> Finding:
    """Count bars with open == high == low == close in runs of ``min_run`` or more."""
    found = _flat_runs(frame, cfg)
    if not found:
        return OK
    n = sum(b - a for a, b in found)
    first = frame.index[found[0][0]]
    return Finding(n, first, f"{n} flat bars (O=H=L=C) in {len(found)} runs (first {ctx.stamp(first)})")


def repair_flat(frame: pd.DataFrame, cfg: FlatBarCheck, ctx: Context) -> tuple[pd.DataFrame, int]:
    """Drop flat bars in runs of ``min_run`` or more."""
    keep = np.ones(len(frame), dtype=bool)
    for a, b in _flat_runs(frame, cfg):
        keep[a:b] = False
    return frame.loc[keep], 0


def find_stale(frame: pd.DataFrame, cfg: StaleCheck, ctx: Context) -> Finding:
    """Flag data whose last bar closed too long before the live clock (no clock: skipped)."""
    if ctx.now is None or len(frame) == 0:
        return OK
    last_close = frame.index[-1] + ctx.bar
    allowed = cfg.max_age_bars * ctx.bar + (pd.Timedelta(0) if ctx.is_24_7 else WEEKEND_SLACK)
    age = ctx.now - last_close
    if age <= allowed:
        return OK
    return Finding(
        1,
        frame.index[-1],
        f"last bar {ctx.stamp(frame.index[-1])} closed {age} before {ctx.stamp(ctx.now)} (allowed {allowed})",
    )


def find_history(frame: pd.DataFrame, cfg: HistoryCheck, ctx: Context) -> Finding:
    """Flag fewer than ``min_bars`` bars."""
    if len(frame) >= cfg.min_bars:
        return OK
    first = frame.index[0] if len(frame) else None
    return Finding(1, first, f"{len(frame)} bars, need at least {cfg.min_bars}")


def no_repair(frame: pd.DataFrame, cfg: object, ctx: Context) -> tuple[pd.DataFrame, int]:
    """Checks that cannot repair leave the data as is."""
    return frame, 1
