"""The ML diagnostics section: scores, confusion matrix, ROC, calibration, folds, importance, hit rate."""

from __future__ import annotations

from typing import Any

import pandas as pd

from bot.report import ml_charts as charts
from bot.report import ml_stats as ms
from bot.report import trade_stats as ts
from bot.report.html import esc, figure, fmt, table
from bot.report.plotting import empty_note

SCORE_ROWS = (
    ("accuracy", "Accuracy", "pct", "Share of correct up/down calls at a 0.5 threshold."),
    (
        "baseline_accuracy",
        "Majority-class accuracy",
        "pct",
        "Accuracy of always predicting the most common class.",
    ),
    (
        "roc_auc",
        "ROC AUC",
        "prob",
        "Probability a random up bar is ranked above a random down bar (0.5 = chance).",
    ),
    (
        "log_loss",
        "Log loss",
        "prob",
        "Mean negative log-likelihood of the outcomes (lower is better).",
    ),
    (
        "brier",
        "Brier score",
        "prob",
        "Mean squared error of the probabilities (lower is better; 0.25 = coin flip).",
    ),
    ("n_predictions", "Predictions", "int", "Out-of-sample predictions scored."),
)
IMPORTANCE_LABELS = {
    "gain": (
        "Feature importance (gain)",
        "Mean split gain across walk-forward models (trees; in-sample by construction).",
    ),
    "permutation": (
        "Feature importance (permutation, out of sample)",
        "Drop in score when a feature is shuffled within the out-of-sample test windows.",
    ),
}


def _scores_table(ml_json: dict[str, Any], computed: dict[str, float]) -> str:
    rows = []
    for key, label, kind, doc in SCORE_ROWS:
        reported = ml_json.get(key)
        rows.append((label, fmt(reported, kind), fmt(computed.get(key), kind), doc))
    headers = (
        "Model score (out of sample)",
        "metrics.json",
        "From oos_predictions.csv",
        "Definition",
    )
    return table(headers, rows, cls="metrics")


def confusion_html(oos: pd.DataFrame) -> str:
    """Return the confusion matrix as a table with counts and row percentages."""
    m = ms.confusion(oos)
    total = max(int(m.to_numpy().sum()), 1)
    head = '<tr><th scope="col">Actual \\ Predicted</th>' + "".join(f'<th scope="col">{esc(c)}</th>' for c in m.columns)
    body = []
    for actual, row in m.iterrows():
        row_total = max(int(row.sum()), 1)
        cells = []
        for value in row:
            shade = 0.12 + 0.6 * value / total
            cells.append(
                f'<td style="background: rgba(31,119,180,{shade:.2f})">{value:,}'
                f"<br><small>{value / row_total:.1%} of row</small></td>"
            )
        body.append(f'<tr><th scope="row">{esc(actual)}</th>{"".join(cells)}</tr>')
    return (
        '<figure class="chart" id="chart-confusion"><figcaption><h3>Confusion matrix (out of sample)</h3>'
        '<p class="note">Predicted class = prob_up &ge; 0.5.</p></figcaption><div class="plot">'
        f'<table class="confusion"><thead>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div></figure>'
    )


def _roc_block(oos: pd.DataFrame, scores: dict[str, float]) -> str:
    points = ms.roc_points(oos)
    body = charts.roc_chart(*points, scores["roc_auc"]) if points else empty_note("Only one class in the labels.")
    return figure("chart-roc", "ROC curve (out of sample)", body, f"AUC {fmt(scores.get('roc_auc'), 'prob')}.")


def _calibration_block(oos: pd.DataFrame, scores: dict[str, float]) -> str:
    return figure(
        "chart-calibration",
        "Calibration curve (reliability diagram)",
        charts.calibration_chart(ms.calibration(oos), ms.probabilities(oos), scores["brier"]),
        "Predictions sorted into 10 equal-count bins: mean predicted probability vs observed share of up "
        f"outcomes; below, the distribution of predictions. Brier score {fmt(scores.get('brier'), 'prob')}.",
    )


def _folds_block(folds: pd.DataFrame | None, baseline: float | None) -> str:
    if folds is None:
        return figure(
            "chart-folds",
            "Accuracy and AUC per walk-forward fold",
            empty_note("No folds.csv in the run."),
        )
    note = f"{len(folds)} test windows; each marker sits at its window's midpoint, the band spans the window."
    return figure(
        "chart-folds",
        "Accuracy and AUC per walk-forward fold",
        charts.folds_chart(folds, baseline),
        note,
    )


def _importance_blocks(importance: pd.DataFrame | None) -> str:
    if importance is None:
        return figure(
            "chart-importance",
            "Feature importance",
            empty_note("No feature_importance.csv in the run."),
        )
    blocks = []
    for kind in sorted(set(importance["kind"].astype(str))):
        values = ms.importance_table(importance, kind)
        title, note = IMPORTANCE_LABELS.get(kind, (f"Feature importance ({kind})", ""))
        chart = charts.importance_chart(values, f"Importance ({kind})")
        blocks.append(figure(f"chart-importance-{kind}", title, chart, note + " Top 20 features."))
    return f'<div class="grid2">{"".join(blocks)}</div>'


def _hit_rate_block(trades: pd.DataFrame) -> str:
    title = "Trade hit rate by predicted probability"
    buckets = ts.hit_rate_by_bucket(trades) if not trades.empty else pd.DataFrame()
    if buckets.empty:
        return figure("chart-hit-rate", title, empty_note("No trade carries an entry probability."))
    rows = [
        (
            f"{b.lo:.2f}–{b.hi:.2f}",
            fmt(b.count, "int"),
            fmt(b.hit_rate, "pct"),
            fmt(b.mean_prob, "prob"),
        )
        for b in buckets.itertuples()
    ]
    tbl = table(("Win probability bucket", "Trades", "Hit rate", "Mean predicted"), rows, cls="buckets")
    note = (
        "Win probability = prob_up at entry for longs, 1 - prob_up for shorts; a hit is a trade with positive net P&L."
    )
    return figure("chart-hit-rate", title, charts.hit_rate_chart(buckets) + tbl, note)


def ml_html(
    metrics: dict[str, Any],
    oos: pd.DataFrame | None,
    folds: pd.DataFrame | None,
    importance: pd.DataFrame | None,
    trades: pd.DataFrame,
) -> str:
    """Return the ML diagnostics section body."""
    ml_json = metrics.get("ml") or {}
    scores = ms.oos_scores(oos) if oos is not None else {}
    parts = [_scores_table(ml_json, scores)]
    if scores:
        parts.append(f'<div class="grid2">{confusion_html(oos)}{_roc_block(oos, scores)}</div>')
        parts.append(f'<div class="grid2">{_calibration_block(oos, scores)}{_hit_rate_block(trades)}</div>')
    else:
        parts.append(empty_note("No oos_predictions.csv: confusion matrix, ROC and calibration need it."))
        parts.append(_hit_rate_block(trades))
    baseline = ml_json.get("baseline_accuracy", scores.get("baseline_accuracy"))
    parts += [_folds_block(folds, baseline), _importance_blocks(importance)]
    return "".join(parts)
