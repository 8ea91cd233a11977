"""Walk-forward training with purge and embargo: every prediction is out of sample.

The folds live on the union calendar of all symbols (positions 0..n-1). Fold k tests the
positions [s_k, s_k + min(test, step)) with s_k = train + k * step. Its model is fitted on
samples at positions in the train window ([s_k - train, s_k) rolling, [0, s_k) expanding)
whose labels END before s_k - embargo: a sample at t with horizon h ends at t + h, so the
last h bars before the test window are purged and ``embargo`` more bars are skipped. Fold
boundaries depend only on positions, so changing bars after a date never moves earlier folds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from loguru import logger

from bot.config import Config
from bot.errors import DataError
from bot.ml.labels import direction_label
from bot.ml.models import NAN_INTOLERANT, build_classifier


@dataclass(frozen=True)
class Fold:
    index: int
    train_start: int
    test_start: int
    test_end: int  # exclusive


@dataclass
class WalkForwardResult:
    feature_names: list[str]
    prob_up: dict[str, pd.Series]
    predictions: pd.DataFrame  # timestamp, symbol, fold, prob_up, prediction, label
    folds: pd.DataFrame
    importance: pd.DataFrame
    metrics: dict


def make_folds(n: int, train: int, test: int, step: int, window: str) -> list[Fold]:
    """Return the walk-forward folds over ``n`` calendar positions."""
    folds, s, k = [], train, 0
    width = min(test, step)
    while s < n:
        start = s - train if window == "rolling" else 0
        folds.append(Fold(k, start, s, min(s + width, n)))
        s += step
        k += 1
    return folds


def _symbol_frame(sym: str, bars: pd.DataFrame, cfg: Config, names: list[str],
                  context: Mapping[str, pd.DataFrame], calendar: pd.DatetimeIndex) -> pd.DataFrame:
    from bot.features import compute_features

    feats = compute_features(bars, names, context=context)
    h = cfg.model.horizon
    frame = feats.astype(np.float64)
    frame["label"] = direction_label(bars["close"], h)
    pos = calendar.get_indexer(bars.index)
    frame["pos"] = pos
    end = np.full(len(bars), np.iinfo(np.int64).max, dtype=np.int64)
    end[: max(len(bars) - h, 0)] = pos[h:]
    frame["label_end"] = end
    frame["symbol"] = sym
    return frame


def check_history(bars: Mapping[str, pd.DataFrame], cfg: Config) -> None:
    """Raise DataError when a symbol has fewer bars than one training window plus one test bar."""
    need = cfg.validation.train + 1
    for sym, df in bars.items():
        if len(df) < need:
            where = df.attrs.get("path", sym)
            raise DataError(
                f"{where}:{len(df) + 1}",
                f"{sym} has {len(df)} bars, but one walk-forward window needs {need} "
                f"(validation.train={cfg.validation.train} + 1 test bar)",
            )


def run_walk_forward(bars: Mapping[str, pd.DataFrame], cfg: Config,
                     context: Mapping[str, pd.DataFrame] | None = None) -> WalkForwardResult:
    """Train fold by fold and predict each test window in one batch."""
    from bot.features import resolve_feature_names

    check_history(bars, cfg)
    names = resolve_feature_names(cfg.model.features)
    calendar = pd.DatetimeIndex(sorted(set().union(*(df.index for df in bars.values()))))
    ctx = dict(context or bars)
    data = pd.concat([_symbol_frame(s, df, cfg, names, ctx, calendar) for s, df in bars.items()])
    data = data.sort_values(["pos", "symbol"], kind="stable").reset_index(names="timestamp")
    v = cfg.validation
    folds = make_folds(len(calendar), v.train, v.test, v.step_bars, v.window)
    drop_nan = cfg.model.type in NAN_INTOLERANT
    X_all = data[names].to_numpy(np.float64)
    has_nan = np.isnan(X_all).any(axis=1)
    preds, fold_rows, importances = [], [], []
    for fold in folds:
        out = _fit_predict_fold(fold, data, X_all, has_nan, names, cfg, drop_nan, len(folds))
        if out is None:
            continue
        pred, row, imp = out
        preds.append(pred)
        fold_rows.append(row)
        importances.append(imp)
    predictions = pd.concat(preds, ignore_index=True) if preds else _empty_predictions()
    folds_df = pd.DataFrame(fold_rows)
    if len(folds_df):
        for col in ("train_start", "train_end", "test_start", "test_end"):
            folds_df[col] = calendar[folds_df[col].to_numpy()]
    prob_up = _prob_series(predictions, bars)
    return WalkForwardResult(
        feature_names=names,
        prob_up=prob_up,
        predictions=predictions,
        folds=folds_df,
        importance=_mean_importance(importances, names, cfg.model.type),
        metrics=oos_metrics(predictions),
    )


def train_mask(fold: Fold, pos: np.ndarray, label_end: np.ndarray, embargo: int) -> np.ndarray:
    """Select samples in the fold's train window whose labels end before test_start - embargo."""
    in_window = (pos >= fold.train_start) & (pos < fold.test_start)
    return in_window & (label_end < fold.test_start - embargo)


def _fit_predict_fold(fold: Fold, data: pd.DataFrame, X_all: np.ndarray, has_nan: np.ndarray,
                      names: list[str], cfg: Config, drop_nan: bool, n_folds: int):
    pos = data["pos"].to_numpy()
    label = data["label"].to_numpy()
    train = train_mask(fold, pos, data["label_end"].to_numpy(), cfg.validation.embargo)
    train &= ~np.isnan(label)
    train &= ~has_nan if drop_nan else ~np.isnan(X_all).all(axis=1)
    test = (pos >= fold.test_start) & (pos < fold.test_end)
    y = label[train]
    if train.sum() < 50 or len(np.unique(y)) < 2:
        logger.warning(f"fold {fold.index}: {int(train.sum())} usable training rows, no predictions")
        return None
    model = build_classifier(cfg.model.type, cfg.model.params, cfg.seed + fold.index, cfg.model.calibration)
    model.fit(X_all[train], y.astype(int))
    prob = np.full(int(test.sum()), np.nan)
    ok = ~has_nan[test] if drop_nan else np.ones(int(test.sum()), dtype=bool)
    if ok.any():
        prob[ok] = model.predict_proba(X_all[test][ok])[:, 1]
    majority = float(np.mean(y) >= 0.5)
    pred = data.loc[test, ["timestamp", "symbol"]].copy()
    pred["fold"] = fold.index
    pred["prob_up"] = prob
    pred["prediction"] = np.where(np.isnan(prob), np.nan, (prob >= 0.5).astype(float))
    pred["label"] = label[test]
    pred["majority"] = majority
    row = dict(fold=fold.index, train_start=fold.train_start, train_end=fold.test_start - 1,
               test_start=fold.test_start, test_end=fold.test_end - 1,
               n_train=int(train.sum()), n_test=int(np.isfinite(prob).sum()), **_fold_scores(pred))
    if fold.index % max(1, n_folds // 10) == 0 or fold.index == n_folds - 1:
        logger.info(f"walk-forward fold {fold.index + 1}/{n_folds}: trained on {row['n_train']} rows")
    return pred, row, _importance(model, len(names))


def _fold_scores(pred: pd.DataFrame) -> dict:
    from sklearn.metrics import roc_auc_score

    m = pred["label"].notna() & pred["prob_up"].notna()
    y, p = pred.loc[m, "label"].to_numpy(), pred.loc[m, "prob_up"].to_numpy()
    acc = float(np.mean((p >= 0.5) == (y == 1))) if len(y) else np.nan
    auc = float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else np.nan
    return {"accuracy": acc, "roc_auc": auc}


def oos_metrics(pred: pd.DataFrame) -> dict:
    """Return out-of-sample classification metrics over every prediction whose label is known."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    m = pred["label"].notna() & pred["prob_up"].notna()
    y = pred.loc[m, "label"].to_numpy().astype(int)
    p = pred.loc[m, "prob_up"].to_numpy()
    if len(y) == 0:
        return {"n_predictions": 0}
    two = len(np.unique(y)) == 2
    return {
        "accuracy": float(np.mean((p >= 0.5) == (y == 1))),
        "baseline_accuracy": float(np.mean(pred.loc[m, "majority"].to_numpy() == y)),
        "roc_auc": float(roc_auc_score(y, p)) if two else None,
        "log_loss": float(log_loss(y, np.clip(p, 1e-12, 1 - 1e-12), labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "n_predictions": int(len(y)),
        "positive_rate": float(np.mean(y)),
    }


def _importance(model, n: int) -> np.ndarray:
    inner = [c.estimator for c in model.calibrated_classifiers_] if hasattr(model, "calibrated_classifiers_") else [model]
    vals = []
    for est in inner:
        est = est.steps[-1][1] if hasattr(est, "steps") else est
        if hasattr(est, "feature_importances_"):
            vals.append(np.asarray(est.feature_importances_, dtype=float))
        elif hasattr(est, "coef_"):
            vals.append(np.abs(np.asarray(est.coef_, dtype=float)).ravel())
    return np.mean(vals, axis=0) if vals else np.full(n, np.nan)


def _mean_importance(imps: list[np.ndarray], names: list[str], kind: str) -> pd.DataFrame:
    label = {"xgboost": "gain", "random_forest": "impurity", "logistic": "abs_coef_standardized"}[kind]
    mean = np.nanmean(np.vstack(imps), axis=0) if imps else np.full(len(names), np.nan)
    df = pd.DataFrame({"feature": names, "importance": mean, "kind": label})
    return df.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def _prob_series(pred: pd.DataFrame, bars: Mapping[str, pd.DataFrame]) -> dict[str, pd.Series]:
    out = {}
    for sym, df in bars.items():
        sub = pred[pred["symbol"] == sym].set_index("timestamp")["prob_up"]
        out[sym] = sub.reindex(df.index).astype(np.float64)
    return out


def _empty_predictions() -> pd.DataFrame:
    cols = ["timestamp", "symbol", "fold", "prob_up", "prediction", "label", "majority"]
    return pd.DataFrame({c: [] for c in cols})
