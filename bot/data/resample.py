"""Resample bars to a longer timeframe and align higher timeframes onto lower ones without look-ahead.

Bars are stamped with their open time; a bar of length L stamped T closes at T + L.
A higher-timeframe bar is visible to a lower bar only once it has closed, i.e. when
T_high + L_high <= t_low + L_low (the decision is taken at the lower bar's close).
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from bot.data.partial import trades_24_7
from bot.data.schema import INDEX_NAME, OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from bot.errors import ConfigError
from bot.timeframes import DAY, parse_timeframe

AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum", "adj_close": "last"}
Partial = Literal["drop_last", "drop", "keep"]


def resample_bars(
    frame: pd.DataFrame,
    source_tf: str,
    target_tf: str,
    partial: Partial = "drop_last",
    is_24_7: bool | None = None,
) -> pd.DataFrame:
    """Aggregate ``frame`` from ``source_tf`` to ``target_tf`` on a UTC-midnight-anchored grid.

    ``partial`` decides what happens to bins with fewer source bars than a full bin holds
    (24/7 data): "drop_last" drops only a short last bin (still forming), "drop" drops every
    short bin, "keep" keeps them all. Weekday data (exchange sessions) is never judged short;
    ``is_24_7`` None guesses the calendar from weekend bars.
    """
    src, dst = parse_timeframe(source_tf), parse_timeframe(target_tf, "target timeframe")
    if dst < src or dst % src != pd.Timedelta(0) or (dst > DAY) or (dst < DAY and DAY % dst):
        raise ConfigError("data.timeframe", f"cannot resample {source_tf} to {target_tf}")
    if dst == src or frame.empty:
        return frame.copy()
    cols = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in frame.columns]
    grouper = frame[cols].resample(dst, origin="epoch", label="left", closed="left")
    out = grouper.agg({c: AGG[c] for c in cols})
    counts = grouper["close"].count()
    out = out[counts.to_numpy() > 0]
    counts = counts[counts > 0]
    if is_24_7 is None:
        is_24_7 = trades_24_7(pd.DatetimeIndex(frame.index))
    if is_24_7 and partial != "keep":
        out = _drop_partial(out, counts, int(dst / src), partial)
    out.index = pd.DatetimeIndex(out.index, name=INDEX_NAME)
    return out.astype("float64")


def _drop_partial(out: pd.DataFrame, counts: pd.Series, full: int, partial: Partial) -> pd.DataFrame:
    short = counts.to_numpy() < full
    if partial == "drop":
        return out[~short]
    return out.iloc[:-1] if len(out) and short[-1] else out


def align_higher(
    lower: pd.DataFrame,
    lower_tf: str,
    higher: pd.DataFrame,
    higher_tf: str,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """Return ``higher``'s columns on ``lower``'s index, each row holding the last closed higher bar.

    Columns are prefixed with the higher timeframe ("4h_close"); "<tf>_timestamp" gives the
    open time of the higher bar used. Rows before the first higher bar closes are NaN/NaT.
    """
    lo_len, hi_len = parse_timeframe(lower_tf), parse_timeframe(higher_tf)
    cols = list(columns or higher.columns)
    visible = pd.DataFrame({c: higher[c].to_numpy() for c in cols})
    visible["_opened"] = higher.index
    visible["_closes"] = (higher.index + hi_len).as_unit("ns")
    decide = pd.DataFrame({"_at": (lower.index + lo_len).as_unit("ns")})
    merged = pd.merge_asof(
        decide,
        visible.sort_values("_closes"),
        left_on="_at",
        right_on="_closes",
        direction="backward",
        allow_exact_matches=True,
    )
    out = merged[cols].rename(columns={c: f"{higher_tf}_{c}" for c in cols})
    out.insert(0, f"{higher_tf}_timestamp", merged["_opened"].to_numpy())
    out.index = lower.index
    return out


def multi_timeframe(frame: pd.DataFrame, base_tf: str, higher_tfs: list[str]) -> pd.DataFrame:
    """Return ``frame`` joined with its own resampled higher timeframes, aligned without look-ahead."""
    parts = [frame]
    for tf in higher_tfs:
        higher = resample_bars(frame, base_tf, tf, partial="keep")
        parts.append(align_higher(frame, base_tf, higher, tf).drop(columns=f"{tf}_timestamp"))
    return pd.concat(parts, axis=1)
