"""Walk-forward training with purge and embargo: every prediction is out of sample.

The folds live on the union calendar of all symbols (positions 0..n-1). Fold k tests the
positions [s_k, s_k + min(test, step)) with s_k = train + k * step. Its model is fitted on
samples at positions in the train window ([s_k - train, s_k) rolling, [0, s_k) expanding)
whose labels END before s_k - embargo: a sample at t with horizon h ends at t + h (or, for
the triple barrier, at the bar its first barrier is touched), so the last bars before the test
window are purged and ``embargo`` more bars are skipped. Fold boundaries depend only on
positions, so changing bars after a date never moves earlier folds.

``run_walk_forward`` is what backtests trade on. ``run_validation`` also runs the research
schemes (purged k-fold, combinatorial purged CV; see ``bot.ml.cv``), whose models may train on
data after the test window and so must never drive a simulated trade.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.config import Config
from bot.errors import ConfigError, DataError
from bot.ml.cv import Split, cpcv_paths, group_of, make_splits
from bot.ml.dataset import Dataset, build_dataset
from bot.ml.estimators import IMPORTANCE_KIND
from bot.ml.horizons import horizon_combine_of
from bot.ml.pipeline import SplitOutput, public_columns, run_splits
from bot.ml.summary import bars_per_year, cost_of, fold_row, oos_metrics, summarize

__all__ = [
    "Fold",
    "WalkForwardResult",
    "assemble_result",
    "check_history",
    "make_folds",
    "oos_metrics",
    "require_walk_forward",
    "run_validation",
    "run_walk_forward",
    "train_mask",
    "train_splits",
    "validate_dataset",
]


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
    predictions: pd.DataFrame  # timestamp, symbol, fold, prob_up, prediction, label, majority, ...
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


def train_mask(fold: Fold, pos: np.ndarray, label_end: np.ndarray, embargo: int) -> np.ndarray:
    """Select samples in the fold's train window whose labels end before test_start - embargo."""
    in_window = (pos >= fold.train_start) & (pos < fold.test_start)
    return in_window & (label_end < fold.test_start - embargo)


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


def _check_groups(bars: Mapping[str, pd.DataFrame], cfg: Config) -> None:
    need = 10 * cfg.validation.n_splits
    sym, df = max(bars.items(), key=lambda kv: len(kv[1]))
    if len(df) < need:
        raise DataError(
            f"{df.attrs.get('path', sym)}:{len(df) + 1}",
            f"{sym} has {len(df)} bars, but {cfg.validation.scheme} with n_splits="
            f"{cfg.validation.n_splits} needs at least {need}",
        )


def run_walk_forward(
    bars: Mapping[str, pd.DataFrame], cfg: Config, context: Mapping[str, pd.DataFrame] | None = None
) -> WalkForwardResult:
    """Train fold by fold and predict each test window in one batch."""
    require_walk_forward(cfg)
    return run_validation(bars, cfg, context)


def require_walk_forward(cfg: Config) -> None:
    """Raise ConfigError unless ``validation.scheme`` is one a backtest may trade on."""
    if cfg.validation.scheme != "walk_forward":
        raise ConfigError(
            "validation.scheme",
            f"a backtest trades on walk_forward predictions only; "
            f"{cfg.validation.scheme} lets models train on later data "
            "(use python -m bot.research.evaluate for it)",
        )


def run_validation(
    bars: Mapping[str, pd.DataFrame],
    cfg: Config,
    context: Mapping[str, pd.DataFrame] | None = None,
    on_split: Callable[[Split, pd.DataFrame], None] | None = None,
) -> WalkForwardResult:
    """Build the dataset and run ``validation.scheme`` over it."""
    if cfg.validation.scheme == "walk_forward":
        check_history(bars, cfg)
    else:
        _check_groups(bars, cfg)
    return validate_dataset(build_dataset(bars, cfg, context), cfg, bars, on_split)


def validate_dataset(
    ds: Dataset,
    cfg: Config,
    bars: Mapping[str, pd.DataFrame],
    on_split: Callable[[Split, pd.DataFrame], None] | None = None,
    log_folds: bool = True,
) -> WalkForwardResult:
    """Run ``validation.scheme`` on a prepared dataset (the tuner reuses one across trials)."""
    return assemble_result(train_splits(ds, cfg, on_split, log_folds), ds.calendar, ds.names, cfg, bars)


def train_splits(
    ds: Dataset, cfg: Config, on_split: Callable[[Split, pd.DataFrame], None] | None = None, log_folds: bool = True
) -> list[SplitOutput]:
    """Fit and predict every split of ``validation.scheme``: what training produces (and the cache keeps)."""
    splits = make_splits(len(ds.calendar), cfg.validation)
    return run_splits(ds, splits, cfg, horizon_combine_of(cfg), on_split, log_folds)


def assemble_result(
    outputs: list[SplitOutput],
    calendar: pd.DatetimeIndex,
    names: list[str],
    cfg: Config,
    bars: Mapping[str, pd.DataFrame],
) -> WalkForwardResult:
    """Turn the splits' outputs into predictions, the fold table, importances and the ``ml`` metrics.

    The fold table and metrics depend on costs (``broker``) and ``tuning`` too, so they are computed
    here, from the outputs, and never stored with them.
    """
    horizons = list(cfg.model.horizons)
    rows = _assemble(outputs, len(calendar), cfg)
    predictions = public_columns(rows, horizons) if len(rows) else _empty_predictions()
    ppy = bars_per_year(calendar)
    folds = _fold_table(outputs, calendar, ppy, cost_of(cfg))
    metrics = summarize(predictions, cfg, ppy) if len(predictions) else {"n_predictions": 0}
    first = predictions.drop_duplicates(["timestamp", "symbol"]) if "path" in predictions else predictions
    return WalkForwardResult(
        feature_names=list(names),
        prob_up=prob_series(first, bars),
        predictions=predictions,
        folds=folds,
        importance=_mean_importance([o.importance for o in outputs], names, cfg.model.type, _supports(outputs, cfg)),
        metrics=metrics,
    )


def _assemble(outputs: list[SplitOutput], n: int, cfg: Config) -> pd.DataFrame:
    if not outputs:
        return pd.DataFrame()
    if cfg.validation.scheme != "cpcv":
        return pd.concat([o.rows for o in outputs], ignore_index=True)
    v = cfg.validation
    parts = []
    for p, path in enumerate(cpcv_paths(v.n_splits, v.n_test_splits)):
        for o in outputs:
            mine = [g for g, s in path.items() if s == o.split.index]
            rows = o.rows[np.isin(group_of(o.rows["pos"].to_numpy(), n, v.n_splits), mine)]
            parts.append(rows.assign(path=p))
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["path", "pos", "symbol"], kind="stable").reset_index(drop=True)


def _fold_table(outputs: list[SplitOutput], calendar: pd.DatetimeIndex, ppy: int, cost: float) -> pd.DataFrame:
    rows = []
    for o in outputs:
        s = o.split
        row = dict(
            fold=s.index,
            train_start=calendar[s.train[0]],
            train_end=calendar[s.train[1] - 1],
            test_start=calendar[s.test_start],
            test_end=calendar[s.test_end - 1],
            n_train=o.n_train,
            n_test=int(o.rows["prob_up"].notna().sum()),
        )
        if s.groups:
            row["groups"] = " ".join(str(g) for g in s.groups)
        row.update(fold_row(o.rows, ppy, cost))
        rows.append(row)
    return pd.DataFrame(rows)


def _supports(outputs: list[SplitOutput], cfg: Config) -> list[np.ndarray] | None:
    """Each fold's kept-feature mask with ``model.selection`` (every fold has one), else None."""
    if cfg.model.selection.method == "none":
        return None
    return [o.support for o in outputs if o.support is not None]


def _mean_importance(
    imps: list[np.ndarray], names: list[str], kind: str, supports: list[np.ndarray] | None = None
) -> pd.DataFrame:
    """Mean importance over folds (over the folds that selected it, with model.selection)."""
    stacked = np.vstack(imps) if imps else np.full((1, len(names)), np.nan)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # a feature no fold selected: NaN
        mean = np.nanmean(stacked, axis=0) if np.isfinite(stacked).any() else np.full(len(names), np.nan)
    df = pd.DataFrame({"feature": names, "importance": mean, "kind": IMPORTANCE_KIND[kind]})
    if supports:
        df["selected_share"] = np.mean(np.vstack(supports), axis=0)  # share of folds that kept the feature
    return df.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def prob_series(pred: pd.DataFrame, bars: Mapping[str, pd.DataFrame]) -> dict[str, pd.Series]:
    out = {}
    for sym, df in bars.items():
        sub = pred[pred["symbol"] == sym].set_index("timestamp")["prob_up"]
        out[sym] = sub.reindex(df.index).astype(np.float64)
    return out


def _empty_predictions() -> pd.DataFrame:
    cols = ["timestamp", "symbol", "fold", "prob_up", "prediction", "label", "majority"]
    return pd.DataFrame({c: [] for c in cols})
