"""Out-of-sample scores: classification metrics, a calibration table and a simple trading rule.

The trading rule (``rule_returns``) is deliberately plain, so that it measures the signal and not
the execution: on every bar, each symbol with a prediction gets an equal share of capital, held
long for the next bar when P(up) > 0.5 and in cash otherwise; a change of position costs
``cost`` (a fraction of the traded value). Its per-bar returns give the fold's Sharpe ratio,
max drawdown, win rate (share of invested symbol-bars that gained) and profit factor (gross
gains / gross losses of invested symbol-bars).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import (
    balanced_accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    """Return accuracy, balanced accuracy, precision, recall, F1, ROC AUC, log loss, Brier, confusion."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=np.float64)
    if len(y) == 0:
        return {"n_predictions": 0}
    pred = (p >= 0.5).astype(int)
    two = len(np.unique(y)) == 2
    return {
        "accuracy": float(np.mean(pred == y)),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)) if two else float("nan"),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "f1": float(f1_score(y, pred, zero_division=0)),
        "roc_auc": float(roc_auc_score(y, p)) if two else None,
        "log_loss": float(log_loss(y, np.clip(p, 1e-12, 1 - 1e-12), labels=[0, 1])),
        "brier": float(brier_score_loss(y, p, labels=[0, 1])),
        "confusion": confusion_matrix(y, pred, labels=[0, 1]).tolist(),
        "n_predictions": int(len(y)),
        "positive_rate": float(np.mean(y)),
    }


def multiclass_metrics(y: np.ndarray, pred: np.ndarray, n_classes: int = 5) -> dict:
    """Return accuracy, balanced accuracy and the confusion matrix of class predictions (signal5)."""
    y, pred = np.asarray(y).astype(int), np.asarray(pred).astype(int)
    if len(y) == 0:
        return {}
    return {
        "accuracy": float(np.mean(y == pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "confusion": confusion_matrix(y, pred, labels=list(range(n_classes))).tolist(),
    }


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict:
    """Return RMSE, out-of-sample R^2 (against a zero forecast) and rank IC of return predictions."""
    y, pred = np.asarray(y, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    if len(y) < 3:
        return {}
    sse = float(np.sum((y - pred) ** 2))
    return {
        "rmse": math.sqrt(sse / len(y)),
        "r2_vs_zero": 1.0 - sse / float(np.sum(y**2)) if np.any(y) else float("nan"),
        "rank_ic": float(pd.Series(y).corr(pd.Series(pred), method="spearman")),
    }


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """Return the reliability curve: per probability bin, mean predicted P(up), observed up rate, count."""
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    idx = np.clip((p * bins).astype(int), 0, bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        if m.any():
            out.append(
                {
                    "bin_low": b / bins,
                    "bin_high": (b + 1) / bins,
                    "mean_prob": float(p[m].mean()),
                    "frac_up": float(y[m].mean()),
                    "count": int(m.sum()),
                }
            )
    return out


def rule_returns(pred: pd.DataFrame, cost: float = 0.0) -> pd.DataFrame:
    """Return per-timestamp ``strategy`` and equal-weight ``buy_hold`` next-bar returns of the rule.

    ``pred`` needs timestamp, symbol, prob_up and ret1 (the next bar's return); rows without a
    probability or a next-bar return are skipped.
    """
    df = pred.loc[pred["prob_up"].notna() & pred["ret1"].notna(), ["timestamp", "symbol", "prob_up", "ret1"]]
    df = df.sort_values(["symbol", "timestamp"], kind="stable")
    held = (df["prob_up"] > 0.5).astype(np.float64)
    prev = held.groupby(df["symbol"]).shift(1).fillna(0.0)
    df = df.assign(held=held, net=held * df["ret1"] - cost * (held - prev).abs())
    by_time = df.groupby("timestamp")
    return pd.DataFrame(
        {"strategy": by_time["net"].mean(), "buy_hold": by_time["ret1"].mean(), "held": by_time["held"].mean()}
    ).sort_index()


def trading_metrics(pred: pd.DataFrame, periods_per_year: int, cost: float = 0.0) -> dict:
    """Return Sharpe, max drawdown, win rate, profit factor and exposure of the rule on ``pred``."""
    rr = rule_returns(pred, cost)
    if len(rr) < 2:
        return {}
    r = rr["strategy"].to_numpy()
    df = pred.loc[pred["prob_up"].notna() & pred["ret1"].notna()]
    inv = df.loc[df["prob_up"] > 0.5, "ret1"].to_numpy()
    gains, losses = inv[inv > 0].sum(), -inv[inv < 0].sum()
    return {
        "sharpe": _annual_sharpe(r, periods_per_year),
        "buy_hold_sharpe": _annual_sharpe(rr["buy_hold"].to_numpy(), periods_per_year),
        "total_return": float(np.prod(1 + r) - 1),
        "max_drawdown": max_drawdown(r),
        "win_rate": float(np.mean(inv > 0)) if len(inv) else float("nan"),
        "profit_factor": float(gains / losses) if losses > 0 else float("nan"),
        "exposure": float(rr["held"].mean()),
        "n_bars": int(len(r)),
    }


def _annual_sharpe(r: np.ndarray, ppy: int) -> float:
    sd = np.std(r, ddof=1)
    return float(np.mean(r) / sd * math.sqrt(ppy)) if sd > 0 else float("nan")


def max_drawdown(r: np.ndarray) -> float:
    """Return the largest peak-to-trough fall of the compounded returns (a negative fraction)."""
    wealth = np.cumprod(1.0 + np.asarray(r, dtype=np.float64))
    peak = np.maximum.accumulate(np.concatenate([[1.0], wealth]))[1:]
    return float(np.min(wealth / peak - 1.0)) if len(wealth) else 0.0
