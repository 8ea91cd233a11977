"""Fit a deployable TrainedModel on one purged window, and score any TrainedModel on another.

``fit_window`` trains one SignalModel per horizon on the samples at calendar positions
[train_start, test_start) whose labels end before ``test_start - embargo`` (the same purge as the
walk-forward backtest, via ``bot.ml.cv.train_mask``). ``evaluate_window`` scores a model's P(up)
on the positions [start, end) against the realised labels of the first horizon.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bot.config import Config
from bot.data import data_hash
from bot.errors import DataError
from bot.ml.cv import Split, train_mask
from bot.ml.dataset import Dataset
from bot.ml.estimators import is_nan_intolerant
from bot.ml.horizons import horizon_combine_of
from bot.ml.scoring import classification_metrics, trading_metrics
from bot.ml.signal_model import SignalModel
from bot.models.bundle import TrainedModel

MIN_TRAIN_ROWS = 50


def _train_rows(ds: Dataset, cfg: Config, h: int, split: Split, drop_nan: bool) -> np.ndarray:
    up = ds.frame[f"up_h{h}"].to_numpy()
    feat_ok = ~ds.has_nan if drop_nan else ~ds.all_nan
    rows = train_mask(split, ds.pos, ds.frame[f"end_h{h}"].to_numpy(), cfg.validation.embargo)
    return rows & ~np.isnan(up) & feat_ok


def fit_window(
    ds: Dataset,
    cfg: Config,
    train_start: int,
    test_start: int,
    bars: Mapping[str, pd.DataFrame],
    code_version: str = "",
) -> TrainedModel:
    """Train one SignalModel per horizon on the purged window [train_start, test_start) and return the bundle."""
    m = cfg.model
    drop_nan = is_nan_intolerant(m.type, m.params)
    split = Split(0, (train_start, test_start), ((test_start, max(test_start + 1, len(ds.calendar))),))
    models: dict[int, SignalModel] = {}
    first_rows: np.ndarray | None = None
    last_end = -1
    for h in ds.horizons:
        rows = _train_rows(ds, cfg, h, split, drop_nan)
        y = ds.frame[f"up_h{h}"].to_numpy()[rows]
        if rows.sum() < MIN_TRAIN_ROWS or len(np.unique(y)) < 2:
            raise DataError(
                f"{cfg.name}:{ds.calendar[min(test_start, len(ds.calendar) - 1)].date()}",
                f"only {int(rows.sum())} usable training rows for horizon {h} before this date "
                f"(need {MIN_TRAIN_ROWS} with both outcomes)",
            )
        model = SignalModel(
            m.type,
            m.params,
            m.label,
            m.calibration,
            tuple(m.label_params.quantiles),
            cfg.seed,
            m.selection.method,
            m.selection.k,
        )
        models[h] = model.fit(ds.X[rows], ds.frame[f"ret_h{h}"].to_numpy()[rows])
        first_rows = rows if first_rows is None else first_rows
        last_end = max(last_end, int(ds.frame[f"end_h{h}"].to_numpy()[rows].max()))
    if first_rows is None:
        raise DataError(cfg.name, "no horizon to train a model for")
    info = _info(ds, cfg, first_rows, last_end, bars, code_version)
    return TrainedModel(models, list(ds.names), horizon_combine_of(cfg), drop_nan, info)


def _info(
    ds: Dataset, cfg: Config, rows: np.ndarray, last_end: int, bars: Mapping[str, pd.DataFrame], code_version: str
) -> dict:
    """Manifest facts; ``label_end`` is the last bar any training label (of any horizon) looked at."""

    h0 = ds.horizons[0]
    frame = ds.frame.loc[rows]
    label_end = ds.calendar[last_end]
    seen = {s: df[df.index <= label_end] for s, df in bars.items()}
    up = frame[f"up_h{h0}"].to_numpy()
    m = cfg.model
    return {
        "config_name": cfg.name,
        "model_type": m.type,
        "params": dict(m.params),
        "label": m.label,
        "label_params": m.label_params.model_dump(mode="json"),
        "calibration": m.calibration,
        "seed": cfg.seed,
        "training": {
            "start": frame["timestamp"].min().isoformat(),
            "end": frame["timestamp"].max().isoformat(),
            "label_end": label_end.isoformat(),
            "n_rows": int(rows.sum()),
            "positive_rate": float(np.mean(up)),
            "symbols": sorted(frame["symbol"].unique().tolist()),
            "embargo": cfg.validation.embargo,
        },
        "data_hash": data_hash(seen),
        "code_version": code_version,
    }


def latest_window(n: int, cfg: Config) -> tuple[int, int]:
    """Return (train_start, eval_start): the challenger's train window and the shared evaluation window start."""
    eval_bars = cfg.retrain.eval_bars or cfg.validation.test
    train_bars = cfg.retrain.train_bars or cfg.validation.train
    eval_start = n - eval_bars
    if eval_start < 20:
        raise DataError(cfg.name, f"{n} bars leave no training window before the last {eval_bars} (retrain.eval_bars)")
    train_start = 0 if cfg.validation.window == "expanding" else max(0, eval_start - train_bars)
    return train_start, eval_start


def model_probs(
    model: TrainedModel, ds: Dataset, bars: Mapping[str, pd.DataFrame], rows: np.ndarray | None = None
) -> np.ndarray:
    """Return the model's P(up) for the dataset rows (reusing the dataset's features when they match)."""
    sel = np.ones(len(ds.frame), dtype=bool) if rows is None else rows
    if list(model.features) == list(ds.names):
        return model.prob_up(ds.X[sel])
    pred = model.predict_bars(bars)
    key = ds.frame.loc[sel, ["timestamp", "symbol"]]
    merged = key.merge(pred, on=["timestamp", "symbol"], how="left")
    return merged["prob_up"].to_numpy(np.float64)


def evaluate_window(
    model: TrainedModel,
    ds: Dataset,
    bars: Mapping[str, pd.DataFrame],
    start: int,
    end: int,
    periods_per_year: int = 252,
    cost: float = 0.0,
) -> dict:
    """Score ``model`` on positions [start, end) against the first horizon's realised labels."""
    rows = (ds.pos >= start) & (ds.pos < end)
    prob = model_probs(model, ds, bars, rows)
    label = ds.frame.loc[rows, f"up_h{ds.horizons[0]}"].to_numpy()
    known = np.isfinite(prob) & np.isfinite(label)
    y, p = label[known].astype(int), prob[known]
    out = classification_metrics(y, p)
    out.pop("confusion", None)
    if len(y) == 0:
        return out
    majority = float(model.info.get("training", {}).get("positive_rate", np.mean(y)) >= 0.5)
    out["baseline_accuracy"] = float(np.mean(y == majority))
    pred = ds.frame.loc[rows, ["timestamp", "symbol", "ret1"]].assign(prob_up=prob)
    out["sharpe"] = trading_metrics(pred, periods_per_year, cost).get("sharpe", float("nan"))
    return out
