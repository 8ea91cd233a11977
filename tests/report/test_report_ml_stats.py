"""Out-of-sample model diagnostics (hand-computed values)."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.report import ml_stats as ms


def _oos(probs: list[float], labels: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=len(probs)),
            "prob_up": probs,
            "label": labels,
        }
    )


def test_confusion_matrix_counts():
    oos = _oos([0.9, 0.8, 0.3, 0.6, 0.2, 0.5], [1, 0, 0, 1, 1, 0])
    m = ms.confusion(oos)
    # rows = actual (down, up), columns = predicted (down, up); 0.5 counts as up
    assert m.to_numpy().tolist() == [[1, 2], [1, 2]]


def test_scores_and_majority_baseline():
    oos = _oos([0.9, 0.8, 0.3, 0.6, 0.2, 0.4], [1, 1, 0, 1, 0, 1])
    s = ms.oos_scores(oos)
    assert s["accuracy"] == pytest.approx(5 / 6)
    assert s["baseline_accuracy"] == pytest.approx(4 / 6)
    assert s["roc_auc"] == pytest.approx(1.0)
    brier = (0.1**2 + 0.2**2 + 0.3**2 + 0.4**2 + 0.2**2 + 0.6**2) / 6
    assert s["brier"] == pytest.approx(brier)
    assert s["n_predictions"] == 6


def test_roc_is_none_with_one_class():
    assert ms.roc_points(_oos([0.2, 0.7], [1, 1])) is None


def test_calibration_bins_uniform():
    oos = _oos([0.12, 0.18, 0.55, 0.58, 0.91], [0, 1, 1, 1, 1])
    cal = ms.calibration(oos, strategy="uniform")
    assert cal["count"].tolist() == [2, 2, 1]
    assert cal["frac_up"].tolist() == [0.5, 1.0, 1.0]
    assert cal["mean_prob"].round(3).tolist() == [0.15, 0.565, 0.91]


def test_importance_table_averages_per_feature_and_kind():
    imp = pd.DataFrame(
        {
            "feature": ["a", "b", "a", "c"],
            "importance": [0.2, 0.5, 0.4, 0.9],
            "kind": ["gain", "gain", "gain", "permutation"],
        }
    )
    gain = ms.importance_table(imp, "gain")
    assert gain.index.tolist() == ["b", "a"]
    assert gain["a"] == pytest.approx(0.3)


def test_calibration_bins_quantile_hold_equal_counts():
    probs = [0.50 + 0.001 * i for i in range(100)]
    oos = _oos(probs, [i % 2 for i in range(100)])
    cal = ms.calibration(oos, bins=10)
    assert cal["count"].tolist() == [10] * 10
    assert cal["mean_prob"].iloc[0] == pytest.approx(0.5045)
    assert cal["frac_up"].tolist() == [0.5] * 10
