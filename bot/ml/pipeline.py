"""Fit and predict one split: one SignalModel per horizon, trained on purged rows only.

``run_splits`` runs every split and returns, in split order, the raw predictions (one row per
tested sample and split), one summary row per split and the feature importances. With
``validation.n_jobs`` != 1 the splits train at once in joblib worker processes (each model's own
thread count divided among them); the results are identical to ``n_jobs: 1``, as every split's
model depends only on its rows and its seed. A caller may pass ``on_split(split, rows)`` to watch
the predictions as they come (the tuner reports fold scores to Optuna this way, and may stop the
run by raising): then the splits run one after the other, in order, whatever ``n_jobs`` says.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from loguru import logger

from bot.config import Config
from bot.ml.cv import Split, in_test, train_mask
from bot.ml.dataset import Dataset
from bot.ml.estimators import is_nan_intolerant
from bot.ml.horizons import combine_horizons
from bot.ml.signal_model import SignalModel
from bot.progress import track

MIN_TRAIN_ROWS = 50
TARGET_LABELS = ("signal5", "return")


@dataclass
class SplitOutput:
    split: Split
    rows: pd.DataFrame  # timestamp, symbol, pos, fold, prob_up, prediction, label, majority, ret1, per-horizon columns
    n_train: int  # training rows of the first horizon's model
    importance: np.ndarray
    support: np.ndarray | None = None  # features the first horizon's model kept (model.selection)


def _feature_ok(ds: Dataset, cfg: Config) -> tuple[np.ndarray, bool]:
    drop_nan = is_nan_intolerant(cfg.model.type, cfg.model.params)
    return (~ds.has_nan if drop_nan else ~ds.all_nan), drop_nan


def _fit(ds: Dataset, cfg: Config, h: int, train: np.ndarray, seed: int) -> SignalModel:
    m = cfg.model
    model = SignalModel(
        m.type,
        m.params,
        m.label,
        m.calibration,
        tuple(m.label_params.quantiles),
        seed,
        m.selection.method,
        m.selection.k,
    )
    return model.fit(ds.X[train], ds.frame[f"ret_h{h}"].to_numpy()[train])


def fit_predict_split(ds: Dataset, split: Split, cfg: Config, combine: str, seed: int) -> SplitOutput | None:
    """Train each horizon's model on the split's purged train rows and predict its test rows."""
    out = _fit_split(ds, split, cfg, combine, seed)
    if isinstance(out, str):
        logger.warning(out)
        return None
    return out


def _fit_split(ds: Dataset, split: Split, cfg: Config, combine: str, seed: int) -> SplitOutput | str:
    """Return the split's output, or why it has no predictions (logged by the caller, in order)."""
    pos = ds.pos
    test = in_test(split, pos)
    feat_ok, drop_nan = _feature_ok(ds, cfg)
    ok = feat_ok[test] if drop_nan else np.ones(int(test.sum()), dtype=bool)
    rows = ds.frame.loc[test, ["timestamp", "symbol", "pos", "ret1"]].reset_index(drop=True)
    probs, imps, n_train, majority, support = [], [], 0, np.nan, None
    for i, h in enumerate(ds.horizons):
        up = ds.frame[f"up_h{h}"].to_numpy()
        train = train_mask(split, pos, ds.frame[f"end_h{h}"].to_numpy(), cfg.validation.embargo)
        train &= ~np.isnan(up) & feat_ok
        y = up[train]
        if train.sum() < MIN_TRAIN_ROWS or len(np.unique(y)) < 2:
            return f"fold {split.index}: {int(train.sum())} usable training rows for horizon {h}, no predictions"
        model = _fit(ds, cfg, h, train, seed)
        prob = np.full(int(test.sum()), np.nan)
        if ok.any():
            prob[ok] = model.prob_up(ds.X[test][ok])
        probs.append(prob)
        rows[f"prob_up_h{h}"] = prob
        rows[f"label_h{h}"] = up[test]
        if cfg.model.label in TARGET_LABELS:
            rows[f"target_h{h}"] = model.target_of(ds.frame[f"ret_h{h}"].to_numpy()[test])
            pred = np.full(int(test.sum()), np.nan)
            if ok.any():
                pred[ok] = model.predict_target(ds.X[test][ok])
            rows[f"target_pred_h{h}"] = pred
        imps.append(model.importance(len(ds.names)))
        if i == 0:
            n_train, majority, support = int(train.sum()), float(np.mean(y) >= 0.5), model.support_
    prob = combine_horizons(np.column_stack(probs), combine)
    rows["fold"] = split.index
    rows["prob_up"] = prob
    rows["prediction"] = np.where(np.isnan(prob), np.nan, (prob >= 0.5).astype(float))
    rows["label"] = rows[f"label_h{ds.horizons[0]}"]
    rows["majority"] = majority
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a feature no horizon's model selected: NaN
        imp = np.nanmean(np.vstack(imps), axis=0) if len(imps) > 1 else imps[0]
    return SplitOutput(split, rows, n_train, imp, support)


def run_splits(
    ds: Dataset,
    splits: list[Split],
    cfg: Config,
    combine: str,
    on_split: Callable[[Split, pd.DataFrame], None] | None = None,
    log_folds: bool = True,
) -> list[SplitOutput]:
    """Fit and predict every split; skipped splits (too few rows) are left out.

    Splits train at once when ``validation.n_jobs`` != 1 and no ``on_split`` needs them in order.
    """
    jobs = 1 if on_split is not None else fold_jobs(cfg.validation.n_jobs, len(splits))
    results = (
        _parallel(ds, splits, cfg, combine, jobs)
        if jobs > 1
        else (_fit_split(ds, s, cfg, combine, cfg.seed + s.index) for s in splits)
    )
    outputs = []
    n = len(splits)
    steps = track(splits, desc=f"{cfg.validation.scheme} folds", unit="fold") if log_folds else splits
    for split, out in zip(steps, results, strict=True):
        if isinstance(out, str):
            logger.warning(out)
            continue
        outputs.append(out)
        if log_folds and (split.index % max(1, n // 10) == 0 or split.index == n - 1):
            logger.info(f"{cfg.validation.scheme} fold {split.index + 1}/{n}: trained on {out.n_train} rows")
        if on_split is not None:
            on_split(split, out.rows)
    return outputs


def fold_jobs(n_jobs: int, n_splits: int) -> int:
    """Return how many splits train at once: ``n_jobs`` (-1: every core), at most one per split."""
    cores = os.cpu_count() or 1
    return max(1, min(cores if n_jobs == -1 else n_jobs, n_splits))


def _parallel(ds: Dataset, splits: list[Split], cfg: Config, combine: str, jobs: int):
    """Yield the splits' outputs in split order, trained by ``jobs`` joblib worker processes."""
    from joblib import Parallel, delayed

    threads = max(1, (os.cpu_count() or 1) // jobs)
    fold_cfg = _with_threads(cfg, threads)
    work = delayed(_fit_split_threads)
    return Parallel(n_jobs=jobs, return_as="generator")(
        work(ds, s, fold_cfg, combine, cfg.seed + s.index, threads) for s in splits
    )


def _with_threads(cfg: Config, threads: int) -> Config:
    """Return ``cfg`` with an xgboost / random forest model's threads set to ``threads``.

    Their results do not depend on the thread count (xgboost's hist trees and the forests' trees are
    built deterministically; tests/ml/test_parallel_folds.py checks it); about one thread per core.
    A thread count given in ``model.params`` is left alone.
    """
    m = cfg.model
    if m.type not in ("xgboost", "random_forest") or "n_jobs" in m.params:
        return cfg
    params = {**m.params, "n_jobs": threads}
    return cfg.model_copy(update={"model": m.model_copy(update={"params": params})})


def _fit_split_threads(
    ds: Dataset, split: Split, cfg: Config, combine: str, seed: int, threads: int
) -> SplitOutput | str:
    """Fit one split in a worker, with native thread pools (OpenMP, BLAS) capped at ``threads``."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return _fit_split(ds, split, cfg, combine, seed)


def public_columns(rows: pd.DataFrame, horizons: list[int]) -> pd.DataFrame:
    """Return the predictions frame: the contract columns first, per-horizon ones only when there are several."""
    lead = ["timestamp", "symbol", "fold", "prob_up", "prediction", "label", "majority"]
    extra = [c for c in ("path",) if c in rows]
    per_h = []
    for h in horizons:
        per_h += [c for c in (f"prob_up_h{h}", f"label_h{h}", f"target_h{h}", f"target_pred_h{h}") if c in rows]
    out = rows[lead + extra + per_h + ["ret1"]]
    if len(horizons) == 1:
        h = horizons[0]
        out = out.drop(columns=[f"prob_up_h{h}", f"label_h{h}"], errors="ignore")
        out = out.rename(columns={f"target_h{h}": "target", f"target_pred_h{h}": "target_pred"})
    return out.reset_index(drop=True)
