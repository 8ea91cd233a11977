"""Turn out-of-sample predictions into the ``ml`` metrics and the per-fold table.

Classification metrics score ``prob_up`` against ``label`` (did the outcome return turn out
positive), so every label type is comparable. The trading rule and the statistics are
explained in ``scoring`` and ``stats``; ``n_trials`` / ``sharpe_std`` come from the
``tuning`` config section (the tuner writes them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.analytics.performance import daily_equity, periods_per_year
from bot.config import Config
from bot.ml import scoring, stats

FOLD_SCORE_KEYS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "brier")
FOLD_TRADE_KEYS = ("sharpe", "max_drawdown", "win_rate", "profit_factor")


def _scored(pred: pd.DataFrame, prob: str = "prob_up", label: str = "label") -> tuple[np.ndarray, np.ndarray]:
    m = pred[label].notna() & pred[prob].notna()
    return pred.loc[m, label].to_numpy().astype(int), pred.loc[m, prob].to_numpy()


def oos_metrics(pred: pd.DataFrame) -> dict:
    """Return out-of-sample classification metrics over every prediction whose label is known."""
    m = pred["label"].notna() & pred["prob_up"].notna()
    y, p = _scored(pred)
    if len(y) == 0:
        return {"n_predictions": 0}
    full = scoring.classification_metrics(y, p)
    out = {
        "accuracy": full["accuracy"],
        "baseline_accuracy": float(np.mean(pred.loc[m, "majority"].to_numpy() == y)),
        "roc_auc": full["roc_auc"],
        "log_loss": full["log_loss"],
        "brier": full["brier"],
        "n_predictions": full["n_predictions"],
        "positive_rate": full["positive_rate"],
    }
    out.update({k: full[k] for k in ("balanced_accuracy", "precision", "recall", "f1", "confusion")})
    return out


def cost_of(cfg: Config) -> float:
    """Return the cost of one position change in the trading rule: commission plus slippage."""
    return cfg.broker.commission + cfg.broker.slippage


def fold_row(rows: pd.DataFrame, ppy: int, cost: float) -> dict:
    """Return one fold's out-of-sample scores and trading-rule metrics."""
    y, p = _scored(rows)
    cls = scoring.classification_metrics(y, p) if len(y) else {}
    out = {k: cls.get(k, np.nan) for k in FOLD_SCORE_KEYS}
    out["baseline_accuracy"] = float(np.mean(rows["majority"].iloc[0] == y)) if len(y) else np.nan
    trade = scoring.trading_metrics(rows, ppy, cost)
    out.update({k: trade.get(k, np.nan) for k in FOLD_TRADE_KEYS})
    return out


def _target_metrics(pred: pd.DataFrame, cfg: Config) -> dict:
    out = {}
    for h in cfg.model.horizons:
        t, tp = ("target", "target_pred") if len(cfg.model.horizons) == 1 else (f"target_h{h}", f"target_pred_h{h}")
        if t not in pred:
            continue
        m = pred[t].notna() & pred[tp].notna()
        fn = scoring.multiclass_metrics if cfg.model.label == "signal5" else scoring.regression_metrics
        out[f"h{h}"] = fn(pred.loc[m, t].to_numpy(), pred.loc[m, tp].to_numpy())
    return out


def _by_horizon(pred: pd.DataFrame, horizons: list[int]) -> dict:
    out = {}
    for h in horizons:
        y, p = _scored(pred, f"prob_up_h{h}", f"label_h{h}")
        out[f"h{h}"] = scoring.classification_metrics(y, p)
    return out


def rule_stats(pred: pd.DataFrame, cfg: Config, ppy: int) -> dict:
    """Return PSR / DSR of the trading rule's per-bar returns (per path for cpcv)."""
    t = cfg.tuning
    if "path" not in pred:
        r = scoring.rule_returns(pred, cost_of(cfg))["strategy"].to_numpy()
        return stats.sharpe_stats(r, t.n_trials, t.sharpe_std, ppy)
    paths = [
        stats.sharpe_stats(scoring.rule_returns(g, cost_of(cfg))["strategy"].to_numpy(), t.n_trials, t.sharpe_std, ppy)
        for _, g in pred.groupby("path")
    ]
    sharpes = np.array([p["sharpe"] for p in paths])
    return {
        "paths": paths,
        "sharpe_mean": float(np.nanmean(sharpes)),
        "sharpe_std_paths": float(np.nanstd(sharpes)),
        "psr_median": float(np.nanmedian([p["psr"] for p in paths])),
        "dsr_median": float(np.nanmedian([p["dsr"] for p in paths])),
        "n_trials": t.n_trials,
    }


def _dependence(pred: pd.DataFrame, cfg: Config) -> int:
    """Return how many predictions share one independent outcome: the horizon (times the cpcv paths)."""
    return cfg.model.horizons[0] * (int(pred["path"].nunique()) if "path" in pred else 1)


def summarize(pred: pd.DataFrame, cfg: Config, ppy: int) -> dict:
    """Return the ``ml`` metrics: scores, calibration, trading rule, statistics (and per horizon / target)."""
    out = oos_metrics(pred)
    if not out.get("n_predictions"):
        return out
    y, p = _scored(pred)
    out["label_type"] = cfg.model.label
    out["horizons"] = list(cfg.model.horizons)
    out["validation_scheme"] = cfg.validation.scheme
    out["calibration"] = scoring.calibration_table(y, p)
    if "path" in pred:
        per_path = [scoring.trading_metrics(g, ppy, cost_of(cfg)) for _, g in pred.groupby("path")]
        out["trading"] = {k: float(np.nanmean([t.get(k, np.nan) for t in per_path])) for k in per_path[0]}
        out["trading"]["n_paths"] = len(per_path)
    else:
        out["trading"] = scoring.trading_metrics(pred, ppy, cost_of(cfg))
    out["trading"]["cost_per_change"] = cost_of(cfg)
    correct = int(np.sum((p >= 0.5) == (y == 1)))
    out["stats"] = {
        "binomial": stats.accuracy_test(correct, len(y), out["baseline_accuracy"], _dependence(pred, cfg)),
        "rule": rule_stats(pred, cfg, ppy),
    }
    if len(cfg.model.horizons) > 1:
        out["by_horizon"] = _by_horizon(pred, cfg.model.horizons)
    if cfg.model.label in ("signal5", "return"):
        out[cfg.model.label] = _target_metrics(pred, cfg)
    return out


def first_signal(predictions: pd.DataFrame | None) -> pd.Timestamp | None:
    """Return the time of the first out-of-sample prediction (None without any)."""
    if predictions is None or not len(predictions):
        return None
    first = predictions.loc[predictions["prob_up"].notna(), "timestamp"].min()
    return None if pd.isna(first) else first


def equity_stats(equity: pd.Series, predictions: pd.DataFrame, cfg: Config, ppy: int) -> dict:
    """Return PSR / DSR of a backtest's daily equity returns from its first out-of-sample signal on."""
    first = first_signal(predictions)
    if first is None:
        return {}

    r = daily_equity(equity[equity.index >= first]).pct_change().dropna().to_numpy()
    return stats.sharpe_stats(r, cfg.tuning.n_trials, cfg.tuning.sharpe_std, ppy)


def bars_per_year(calendar: pd.DatetimeIndex) -> int:
    """Return bars per year: 252 or 365 days (crypto) times the bars in a day for intraday data."""

    days = periods_per_year(calendar)
    if len(calendar) < 2:
        return days
    step = pd.Series(calendar).diff().median()
    per_day = pd.Timedelta(days=1) / step if step < pd.Timedelta(days=1) else 1
    return int(round(days * per_day))


def active_stats(equity: pd.Series, benchmark: pd.Series, start: pd.Timestamp | None, cfg: Config, ppy: int) -> dict:
    """Return PSR / DSR of the strategy's daily returns minus the benchmark's, from ``start`` on.

    PSR / DSR of the strategy alone test "Sharpe > 0", which a long-biased strategy passes in a
    rising market without skill; these test "did it beat buy-and-hold" (the active Sharpe > 0).
    """

    if start is not None:
        equity, benchmark = equity[equity.index >= start], benchmark[benchmark.index >= start]
    s = daily_equity(equity).pct_change()
    b = daily_equity(benchmark).pct_change()
    active = (s - b.reindex(s.index)).dropna().to_numpy()
    return stats.sharpe_stats(active, cfg.tuning.n_trials, cfg.tuning.sharpe_std, ppy)
