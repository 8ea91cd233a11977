"""The pooled sample table: one row per (bar, symbol) with features, outcomes and label ends.

Rows are ordered by calendar position, then symbol (the order of ``bars``). Positions live on the
union calendar of all symbols. For each horizon h the table holds ``ret_h{h}`` (the outcome
return), ``up_h{h}`` (1.0 if positive, NaN unknown) and ``end_h{h}`` (calendar position at which
the label is known; int64 max when unknown). ``ret1`` is the next bar's return, used only to
score a simple trading rule out of sample, never to train.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.config import Config
from bot.data.schema import union_calendar
from bot.features import compute_features, resolve_feature_names
from bot.ml.labels import cross_sectional_excess, outcomes

UNKNOWN_END = np.iinfo(np.int64).max


@dataclass
class Dataset:
    calendar: pd.DatetimeIndex
    names: list[str]
    horizons: list[int]
    frame: pd.DataFrame
    X: np.ndarray
    has_nan: np.ndarray  # any feature NaN
    all_nan: np.ndarray  # every feature NaN

    @property
    def pos(self) -> np.ndarray:
        return self.frame["pos"].to_numpy()


def _symbol_frame(
    sym: str,
    bars: pd.DataFrame,
    cfg: Config,
    names: list[str],
    context: Mapping[str, pd.DataFrame],
    calendar: pd.DatetimeIndex,
) -> pd.DataFrame:

    frame = compute_features(bars, names, context=context).astype(np.float64)
    pos = calendar.get_indexer(bars.index)
    frame["pos"] = pos
    lp = cfg.model.label_params
    n = len(bars)
    for h in cfg.model.horizons:
        out = outcomes(bars["close"], h, cfg.model.label, lp.profit_take, lp.stop_loss, lp.vol_window)
        frame[f"ret_h{h}"] = out["ret"].to_numpy()
        frame[f"up_h{h}"] = out["up"].to_numpy()
        offset = out["end"].to_numpy()
        at = np.arange(n) + np.nan_to_num(offset, nan=n).astype(np.int64)
        end = np.full(n, UNKNOWN_END, dtype=np.int64)
        known = np.isfinite(offset) & (at < n)
        end[known] = pos[at[known]]
        frame[f"end_h{h}"] = end
    frame["ret1"] = (bars["close"].shift(-1) / bars["close"] - 1.0).to_numpy()
    frame["symbol"] = sym
    return frame


def build_dataset(
    bars: Mapping[str, pd.DataFrame], cfg: Config, context: Mapping[str, pd.DataFrame] | None = None
) -> Dataset:
    """Compute features and outcomes for every symbol and pool them on the union calendar."""

    names = resolve_feature_names(cfg.model.features)
    calendar = union_calendar(bars)
    ctx = dict(context or bars)
    data = pd.concat([_symbol_frame(s, df, cfg, names, ctx, calendar) for s, df in bars.items()])
    data = data.sort_values(["pos", "symbol"], kind="stable").reset_index(names="timestamp")
    if cfg.model.label == "excess_return":
        _excess_outcomes(data, cfg.model.horizons)
    X = data[names].to_numpy(np.float64)
    isnan = np.isnan(X)
    return Dataset(calendar, names, list(cfg.model.horizons), data, X, isnan.any(axis=1), isnan.all(axis=1))


def _excess_outcomes(data: pd.DataFrame, horizons: list[int]) -> None:
    """Replace each horizon's outcome by its cross-sectional excess (bot.ml.labels.cross_sectional_excess)."""
    for h in horizons:
        end = data[f"end_h{h}"].where(data[f"end_h{h}"] != UNKNOWN_END)
        ex = cross_sectional_excess(data[f"ret_h{h}"], data["pos"], end)
        data[f"ret_h{h}"] = ex["ret"].to_numpy()
        data[f"up_h{h}"] = (ex["ret"] > 0).astype(np.float64).where(ex["ret"].notna()).to_numpy()
        e = ex["end"].to_numpy()
        known = np.isfinite(e)
        out = np.full(len(e), UNKNOWN_END, dtype=np.int64)
        out[known] = e[known].astype(np.int64)
        data[f"end_h{h}"] = out
