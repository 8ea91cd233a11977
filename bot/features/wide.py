"""Features of many symbols in one pass: bars as wide frames (one column per symbol).

A live session needs the newest feature row of every symbol at each bar. Computing
``compute_features`` symbol by symbol pays pandas' per-call overhead once per symbol and
feature; here each pandas operation runs once on a (bars x symbols) frame. The kernels are the
same ones, applied column by column, so every value is byte-identical to the per-symbol
computation over the same history (tests/features/test_wide.py). A tail window would not be:
pandas' rolling and EWM kernels carry running sums, so their value at a bar depends on the rows
before the window too.

Only features in :data:`WIDE_SAFE` (bar-only, written with column-wise pandas operations) run
wide, and only when every symbol's history has the same index; otherwise callers fall back to
``compute_features`` per symbol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bot.features.api import REGISTRY, REQUIRED_COLUMNS, compute_features, resolve_feature_names

ENABLED = True  # bench/bench_live_latency.py turns it off to time the per-symbol path

WIDE_SAFE = frozenset(
    {
        "ret_1",
        "ret_2",
        "ret_3",
        "ret_5",
        "ret_10",
        "ret_20",
        "ret_60",
        "ret_120",
        "ret_1_lag1",
        "ret_1_lag2",
        "ret_1_lag3",
        "ret_1_lag5",
        "close_sma_5",
        "close_sma_10",
        "close_sma_20",
        "close_sma_50",
        "close_sma_100",
        "close_sma_200",
        "close_ema_12",
        "close_ema_26",
        "close_ema_50",
        "close_ema_200",
        "sma_10_50",
        "sma_50_200",
        "vol_5",
        "vol_10",
        "vol_20",
        "vol_60",
        "vol_ratio_5_60",
        "parkinson_20",
        "rsi_7",
        "rsi_14",
        "rsi_28",
        "macd",
        "macd_signal",
        "macd_hist",
        "ppo",
        "ppo_signal",
        "ppo_hist",
    }
)


def aligned(frames: Mapping[str, pd.DataFrame]) -> bool:
    """Return True when every frame has the same (non-empty) index."""
    items = list(frames.values())
    if not items:
        return False
    first = items[0].index
    return len(first) > 0 and all(df.index.equals(first) for df in items[1:])


def wide_field(frames: Mapping[str, pd.DataFrame], field: str) -> pd.DataFrame:
    """Return one column (``close``, ...) of every frame as a bars x symbols float64 frame."""
    syms = list(frames)
    values = np.column_stack([frames[s][field].to_numpy(np.float64) for s in syms])
    return pd.DataFrame(values, index=frames[syms[0]].index, columns=syms)


def wide_bars(frames: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Return the OHLCV fields of aligned ``frames`` as bars x symbols frames."""
    syms, cols = list(frames), list(REQUIRED_COLUMNS)
    arr = np.stack(
        [(df if list(df.columns) == cols else df.loc[:, cols]).to_numpy(np.float64) for df in frames.values()], axis=2
    )  # bars x fields x symbols
    index = frames[syms[0]].index
    return {f: pd.DataFrame(arr[:, i, :], index=index, columns=syms) for i, f in enumerate(cols)}


def latest_rows(
    frames: Mapping[str, pd.DataFrame], names: Sequence[str], context: Mapping[str, pd.DataFrame] | None = None
) -> np.ndarray:
    """Return the newest feature row of each frame (rows in ``frames`` order, columns in ``names`` order)."""
    resolved = resolve_feature_names(list(names))
    if ENABLED and len(frames) > 1 and set(resolved) <= WIDE_SAFE and aligned(frames):
        wide = wide_bars(frames)
        cols = [REGISTRY[n].fn(wide).astype("float64").to_numpy()[-1] for n in resolved]
        return np.column_stack(cols) if cols else np.empty((len(frames), 0))
    rows = [compute_features(df, resolved, context=context).to_numpy(np.float64)[-1] for df in frames.values()]
    return np.vstack(rows) if rows else np.empty((0, len(resolved)))
