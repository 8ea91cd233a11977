"""The tear sheet's cross-sectional ranking section, from metrics.json ``rank`` (bot/ml/rank.py)."""

from __future__ import annotations

from typing import Any

from bot.report.html import fmt, table


def rank_html(rank: dict[str, Any]) -> str:
    """Return the rank IC and top-minus-bottom spread table, out of sample."""
    rows = [
        (
            "Rank IC (mean)",
            fmt(rank.get("ic_mean"), "prob"),
            f"Spearman of score vs realised {rank.get('horizon')}-bar forward excess return, per rebalance",
        ),
        ("Rank IC t-stat", fmt(rank.get("ic_t")), "mean / (std / sqrt(n))"),
        (
            "Top-minus-bottom spread (annualised)",
            fmt(rank.get("spread_annualised"), "pct"),
            f"top {rank.get('top_k')} minus bottom {rank.get('bottom_k')} by score, forward return over "
            f"{rank.get('rebalance_every')} bars, before costs",
        ),
        ("Spread t-stat", fmt(rank.get("spread_t")), "mean / (std / sqrt(n)) of the per-rebalance spreads"),
        ("Periods", fmt(rank.get("n_periods"), "int"), "rebalances with out-of-sample scores"),
    ]
    note = '<p class="note">Out-of-sample walk-forward scores only, at the strategy\'s rebalance bars.</p>'
    return note + table(("Statistic", "Value", "Definition"), rows, cls="metrics")
