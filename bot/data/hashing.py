"""Content hash of exactly the bars a run or model used (data versioning)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

HASH_PREFIX = "sha256:"
_VERSION = b"market-predictor-bars-v1"


def _update_frame(h: hashlib._Hash, frame: pd.DataFrame) -> None:
    idx = pd.DatetimeIndex(frame.index)
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    h.update(str(len(frame)).encode())
    h.update(np.ascontiguousarray(idx.as_unit("ns").asi8, dtype="<i8").tobytes())
    for col in frame.columns:
        values = np.asarray(frame[col].to_numpy(dtype="float64", na_value=np.nan), dtype="<f8")
        values = np.where(np.isnan(values), np.nan, values + 0.0)  # one NaN, no -0.0
        h.update(f"\x00col:{col}\x00".encode())
        h.update(np.ascontiguousarray(values).tobytes())


def symbol_hash(frame: pd.DataFrame) -> str:
    """Return the content hash of one symbol's bars (index, column names and values)."""
    h = hashlib.sha256(_VERSION)
    _update_frame(h, frame)
    return HASH_PREFIX + h.hexdigest()


def data_hash(bars: dict[str, pd.DataFrame]) -> str:
    """Return one hash of every symbol's bars; stable across runs and independent of dict order."""
    h = hashlib.sha256(_VERSION)
    for symbol in sorted(bars):
        h.update(f"\x00sym:{symbol}\x00".encode())
        h.update(symbol_hash(bars[symbol]).encode())
    return HASH_PREFIX + h.hexdigest()


def data_manifest(bars: dict[str, pd.DataFrame]) -> dict:
    """Return {"hash", "symbols": {sym: {hash, rows, first, last}}} for a run folder or model."""
    per = {}
    for symbol, frame in bars.items():
        per[symbol] = {
            "hash": symbol_hash(frame),
            "rows": int(len(frame)),
            "first": frame.index[0].isoformat() if len(frame) else None,
            "last": frame.index[-1].isoformat() if len(frame) else None,
        }
    return {"hash": data_hash(bars), "symbols": per}
