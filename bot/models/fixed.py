"""Backtest a model trained earlier (``model.uri``) instead of training walk-forward.

``model.uri`` names a registry version (``models:/<name>@champion``, ``models:/<name>/<version>``)
or an artifact folder; checksums are verified on load, as in live sessions. The model keeps its
own feature list, label type and horizons, so the backtest scores it exactly as it was trained.

No look-ahead: the model's manifest records ``training.label_end``, the last bar any of its
training labels looked at. Only bars more than ``validation.embargo`` bars after it get a
prediction (the same purge a walk-forward fold applies); earlier bars get none, so the strategy
stays flat there, and a warning says how many bars were left out. A model trained on data after
the whole backtest window is a config error rather than a quietly in-sample result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from loguru import logger

from bot.config import Config
from bot.errors import ConfigError
from bot.ml.dataset import build_dataset
from bot.ml.horizons import combine_horizons
from bot.ml.pipeline import public_columns
from bot.ml.summary import bars_per_year, cost_of, fold_row, summarize
from bot.ml.walkforward import WalkForwardResult, prob_series
from bot.models.bundle import TrainedModel


def load_fixed_model(cfg: Config) -> tuple[TrainedModel, str]:
    """Load ``model.uri``; return (model, a version label such as ``name/v3`` or ``artifact-<sha>``)."""
    from bot.models.registry import load_model_ref

    if cfg.model.uri is None:
        raise ConfigError("model.uri", "not set")
    return load_model_ref(cfg.model.uri, cfg.registry, "model.uri")


def model_config(cfg: Config, model: TrainedModel) -> Config:
    """Return ``cfg`` with the model section the fixed model was trained with (features, label, horizons)."""
    info = model.info
    horizon = model.horizons if len(model.horizons) > 1 else model.horizons[0]
    update: dict[str, Any] = {"features": list(model.features), "horizon": horizon}
    if info.get("label"):
        update["label"] = info["label"]
    if info.get("label_params"):
        update["label_params"] = cfg.model.label_params.model_validate(info["label_params"])
    return cfg.model_copy(update={"model": cfg.model.model_copy(update=update)})


def first_usable(calendar: pd.DatetimeIndex, model: TrainedModel, embargo: int) -> int:
    """Return the first calendar position the model is out of sample for: after label_end + embargo bars."""
    label_end = model.info.get("training", {}).get("label_end")
    if not label_end:
        raise ConfigError("model.uri", "the model records no training.label_end; cannot prove it is out of sample")
    end = pd.Timestamp(label_end)
    if calendar.tz is not None and end.tz is None:
        end = end.tz_localize(calendar.tz)
    return int(calendar.searchsorted(end, side="right")) + embargo


def fixed_model_predictions(bars: Mapping[str, pd.DataFrame], cfg: Config) -> WalkForwardResult:
    """Predict every out-of-sample bar with the fixed model; return what a walk-forward run would."""
    model, version = load_fixed_model(cfg)
    mcfg = model_config(cfg, model)
    ds = build_dataset(bars, mcfg)
    start = first_usable(ds.calendar, model, cfg.validation.embargo)
    label_end = model.info["training"]["label_end"]
    if start >= len(ds.calendar):
        raise ConfigError(
            "model.uri",
            f"{version} was trained on labels up to {label_end}; the data ends "
            f"{ds.calendar[-1].isoformat()}, so no bar is out of sample for it",
        )
    if start > 0:
        logger.warning(
            f"model {version}: labels end {label_end}; the first {start} of {len(ds.calendar)} bars "
            f"(to {ds.calendar[start - 1].date()}) get no signal (in sample or embargoed)"
        )
    rows = ds.pos >= start
    if list(ds.names) != list(model.features):
        raise ConfigError("model.uri", f"{version}'s features {model.features} could not be rebuilt from this data")
    by_h = model.prob_up_by_horizon(ds.X[rows])
    prob = combine_horizons(by_h, model.combine)
    out = ds.frame.loc[rows, ["timestamp", "symbol", "pos", "ret1"]].reset_index(drop=True)
    for j, h in enumerate(ds.horizons):
        out[f"prob_up_h{h}"] = by_h[:, j]
        out[f"label_h{h}"] = ds.frame.loc[rows, f"up_h{h}"].to_numpy()
    out["fold"] = 0
    out["prob_up"] = prob
    out["prediction"] = np.where(np.isnan(prob), np.nan, (prob >= 0.5).astype(float))
    out["label"] = out[f"label_h{ds.horizons[0]}"]
    training = model.info.get("training", {})
    positive = training.get("positive_rate")
    out["majority"] = float(positive >= 0.5) if positive is not None else np.nan
    predictions = public_columns(out, ds.horizons)
    ppy = bars_per_year(ds.calendar)
    metrics = summarize(predictions, mcfg, ppy) if len(predictions) else {"n_predictions": 0}
    metrics["model"] = {
        "uri": cfg.model.uri,
        "version": version,
        "type": model.info.get("model_type"),
        "label_end": label_end,
        "first_signal": ds.calendar[start].isoformat(),
        "training": training,
    }
    logger.info(
        f"model {version}: {int(np.isfinite(prob).sum())} out-of-sample predictions from {ds.calendar[start].date()}"
    )
    folds = pd.DataFrame(
        [
            {
                "fold": 0,
                "train_start": training.get("start"),
                "train_end": training.get("end"),
                "test_start": ds.calendar[start],
                "test_end": ds.calendar[-1],
                "n_train": training.get("n_rows"),
                "n_test": int(np.isfinite(prob).sum()),
                **fold_row(out, ppy, cost_of(cfg)),
            }
        ]
    )
    importance = pd.DataFrame({"feature": list(model.features), "importance": np.nan, "kind": "none"})
    return WalkForwardResult(
        feature_names=list(model.features),
        prob_up=prob_series(predictions, bars),
        predictions=predictions,
        folds=folds,
        importance=importance,
        metrics=metrics,
    )
