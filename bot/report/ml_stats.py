"""Out-of-sample model diagnostics from oos_predictions.csv, folds.csv and feature_importance.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, confusion_matrix, log_loss, roc_auc_score, roc_curve


def _clean(oos: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    frame = oos[["prob_up", "label"]].apply(pd.to_numeric, errors="coerce").dropna()
    return frame["label"].to_numpy(dtype=int), frame["prob_up"].to_numpy(dtype=float)


def confusion(oos: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """Return the 2x2 confusion matrix (rows: actual down/up, columns: predicted down/up)."""
    y, p = _clean(oos)
    matrix = confusion_matrix(y, (p >= threshold).astype(int), labels=[0, 1])
    names = ["Down (0)", "Up (1)"]
    return pd.DataFrame(matrix, index=names, columns=names)


def oos_scores(oos: pd.DataFrame) -> dict[str, float]:
    """Return accuracy, ROC AUC, log loss, Brier score, baseline accuracy and count, from the predictions."""
    y, p = _clean(oos)
    if len(y) == 0:
        return {}
    both = len(np.unique(y)) == 2
    up_rate = float(y.mean())
    return {
        "accuracy": float(((p >= 0.5).astype(int) == y).mean()),
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "log_loss": float(log_loss(y, np.clip(p, 1e-12, 1 - 1e-12), labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "baseline_accuracy": max(up_rate, 1.0 - up_rate),
        "n_predictions": float(len(y)),
        "up_rate": up_rate,
    }


def roc_points(oos: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """Return (false positive rate, true positive rate), or None when only one class occurs."""
    y, p = _clean(oos)
    if len(np.unique(y)) < 2:
        return None
    fpr, tpr, _ = roc_curve(y, p)
    return fpr, tpr


def probabilities(oos: pd.DataFrame) -> np.ndarray:
    """Return the scored predicted probabilities."""
    return _clean(oos)[1]


def calibration(oos: pd.DataFrame, bins: int = 10, strategy: str = "quantile") -> pd.DataFrame:
    """Return reliability-diagram points: mean predicted prob, observed frequency, count per bin.

    ``quantile`` bins hold equal numbers of predictions (readable when probabilities cluster near
    0.5); ``uniform`` bins have equal width on [0, 1].
    """
    y, p = _clean(oos)
    if len(y) == 0:
        return pd.DataFrame(columns=["mean_prob", "frac_up", "count"])
    if strategy == "quantile":
        idx = pd.qcut(pd.Series(p).rank(method="first"), bins, labels=False)
    else:
        idx = np.clip((p * bins).astype(int), 0, bins - 1)
    frame = pd.DataFrame({"bin": idx, "p": p, "y": y}).groupby("bin")
    out = frame.agg(mean_prob=("p", "mean"), frac_up=("y", "mean"), count=("y", "size"))
    return out.reset_index(drop=True)


def importance_table(importance: pd.DataFrame, kind: str, top: int = 20) -> pd.Series:
    """Return mean importance per feature for one kind ("gain" or "permutation"), largest first."""
    rows = importance[importance["kind"].astype(str) == kind]
    values = pd.to_numeric(rows["importance"], errors="coerce")
    mean = values.groupby(rows["feature"].astype(str)).mean().dropna()
    return mean.sort_values(ascending=False).head(top)
