"""Integrity checks: order, duplicates, missing values, non-positive prices, OHLC consistency.

Each check has ``find(frame, cfg, ctx) -> Finding`` and ``repair(frame, cfg, ctx) -> (frame, left)``
where ``left`` counts the problems the repair could not fix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.config.data_validation import (
    DuplicateCheck,
    MissingValuesCheck,
    NonPositiveCheck,
    OhlcCheck,
    UnsortedCheck,
)
from bot.data.checks_common import OK, Context, Finding, first_hit, price_columns


def find_unsorted(frame: pd.DataFrame, cfg: UnsortedCheck, ctx: Context) -> Finding:
    """Count timestamps earlier than the row before them."""
    ts = frame.index.asi8
    back = np.zeros(len(ts), dtype=bool)
    back[1:] = ts[1:] < ts[:-1]
    n = int(back.sum())
    if not n:
        return OK
    first = first_hit(frame, back)
    return Finding(n, first, f"{n} timestamps earlier than the row before (first {ctx.stamp(first)})")


def repair_unsorted(frame: pd.DataFrame, cfg: UnsortedCheck, ctx: Context) -> tuple[pd.DataFrame, int]:
    """Sort by timestamp, keeping the file order of equal timestamps."""
    return frame.sort_index(kind="stable"), 0


def find_duplicates(frame: pd.DataFrame, cfg: DuplicateCheck, ctx: Context) -> Finding:
    """Count repeated timestamps (second and later occurrences)."""
    dup = frame.index.duplicated(keep="first")
    n = int(dup.sum())
    if not n:
        return OK
    first = first_hit(frame, dup)
    return Finding(n, first, f"{n} duplicate timestamps (first {ctx.stamp(first)})")


def repair_duplicates(frame: pd.DataFrame, cfg: DuplicateCheck, ctx: Context) -> tuple[pd.DataFrame, int]:
    """Keep the first or last row of each repeated timestamp."""
    return frame.loc[~frame.index.duplicated(keep=cfg.keep)], 0


def find_missing(frame: pd.DataFrame, cfg: MissingValuesCheck, ctx: Context) -> Finding:
    """Count rows with a missing price or volume."""
    bad = frame.isna().any(axis=1).to_numpy()
    n = int(bad.sum())
    if not n:
        return OK
    first = first_hit(frame, bad)
    cols = [c for c in frame.columns if frame[c].isna().any()]
    return Finding(n, first, f"{n} rows with missing {'/'.join(cols)} (first {ctx.stamp(first)})")


def repair_missing(frame: pd.DataFrame, cfg: MissingValuesCheck, ctx: Context) -> tuple[pd.DataFrame, int]:
    """Forward-fill the close up to ``max_fill`` bars, rebuild open/high/low from it, drop the rest."""
    out = frame.copy()
    close = out["close"].ffill(limit=cfg.max_fill) if cfg.max_fill else out["close"]
    prev_close = close.shift(1)
    out["close"] = close
    out["open"] = out["open"].fillna(prev_close).fillna(close)
    body_hi = out[["open", "close"]].max(axis=1)
    body_lo = out[["open", "close"]].min(axis=1)
    out["high"] = out["high"].fillna(body_hi)
    out["low"] = out["low"].fillna(body_lo)
    out["volume"] = out["volume"].fillna(0.0)
    if "adj_close" in out.columns:
        out["adj_close"] = out["adj_close"].ffill(limit=cfg.max_fill) if cfg.max_fill else out["adj_close"]
    return out.dropna(), 0


def _non_positive(frame: pd.DataFrame) -> np.ndarray:
    cols = price_columns(frame)
    bad = (frame[cols] <= 0).any(axis=1).to_numpy()
    return bad | (frame["volume"] < 0).to_numpy()


def find_non_positive(frame: pd.DataFrame, cfg: NonPositiveCheck, ctx: Context) -> Finding:
    """Count rows with a price <= 0 or a negative volume."""
    bad = _non_positive(frame)
    n = int(bad.sum())
    if not n:
        return OK
    i = int(np.flatnonzero(bad)[0])
    first, row = frame.index[i], frame.iloc[i]
    vals = ", ".join(f"{c}={row[c]:g}" for c in (*price_columns(frame), "volume"))
    return Finding(n, first, f"{n} rows with a price <= 0 or volume < 0 (first {ctx.stamp(first)}: {vals})")


def repair_non_positive(frame: pd.DataFrame, cfg: NonPositiveCheck, ctx: Context) -> tuple[pd.DataFrame, int]:
    """Drop the rows with a non-positive price or negative volume."""
    return frame.loc[~_non_positive(frame)], 0


def _ohlc_bad(frame: pd.DataFrame) -> np.ndarray:
    o, h, lo, c = (frame[k].to_numpy() for k in ("open", "high", "low", "close"))
    return (h < np.maximum(o, c)) | (lo > np.minimum(o, c)) | (h < lo)


def find_ohlc(frame: pd.DataFrame, cfg: OhlcCheck, ctx: Context) -> Finding:
    """Count bars whose high/low do not cover open and close."""
    bad = _ohlc_bad(frame)
    n = int(bad.sum())
    if not n:
        return OK
    i = int(np.flatnonzero(bad)[0])
    o, h, lo, c = (float(frame[k].iloc[i]) for k in ("open", "high", "low", "close"))
    first = frame.index[i]
    return Finding(
        n,
        first,
        f"{n} bars with high/low not covering open/close (first {ctx.stamp(first)}: o={o:g} h={h:g} l={lo:g} c={c:g})",
    )


def repair_ohlc(frame: pd.DataFrame, cfg: OhlcCheck, ctx: Context) -> tuple[pd.DataFrame, int]:
    """Set high to the max and low to the min of the four prices."""
    out = frame.copy()
    prices = out[["open", "high", "low", "close"]]
    out["high"] = prices.max(axis=1)
    out["low"] = prices.min(axis=1)
    return out, 0
