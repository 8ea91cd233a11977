"""Header, configuration / provenance summary and the key-metrics table."""

from __future__ import annotations

from typing import Any

import pandas as pd

from bot.report.html import esc, fmt, is_missing
from bot.report.run_reader import RunFolder
from bot.runfolder import final_name

# key, label, format, definition
RETURN_ROWS = (
    ("total_return", "Total return", "pct", "Final equity / starting equity - 1."),
    ("cagr", "CAGR", "pct", "Compound annual growth rate."),
    (
        "annual_volatility",
        "Annual volatility",
        "pct",
        "Std of daily returns x sqrt(periods per year).",
    ),
    ("sharpe", "Sharpe ratio", "num", "Mean / std of daily returns, annualised (risk-free 0)."),
    ("sortino", "Sortino ratio", "num", "Mean return / downside deviation, annualised."),
    ("calmar", "Calmar ratio", "num", "CAGR / |max drawdown|."),
    ("max_drawdown", "Max drawdown", "pct", "Deepest fall from a running equity peak."),
)
RUN_ROWS = (
    ("win_rate", "Win rate", "pct", "Share of closed trades with positive net P&L."),
    ("profit_factor", "Profit factor", "num", "Gross winning P&L / gross losing P&L."),
    ("n_trades", "Trades", "int", "Number of round-trip trades."),
    ("exposure", "Exposure", "pct", "Share of bars with an open position."),
    ("final_value", "Final value", "money", "Equity on the last bar."),
)
COMPUTED_ROWS = (
    (
        "tail_ratio",
        "Tail ratio",
        "num",
        "95th percentile daily return / |5th percentile| (empyrical).",
    ),
    ("var_95", "Daily VaR 95%", "pct", "5th percentile of daily returns (historical)."),
    ("cvar_95", "Daily CVaR 95%", "pct", "Mean daily return on days at or below the VaR."),
    ("best_day", "Best day", "pct", "Largest daily return."),
    ("worst_day", "Worst day", "pct", "Smallest daily return."),
    ("best_month", "Best month", "pct", "Largest calendar-month return."),
    ("worst_month", "Worst month", "pct", "Smallest calendar-month return."),
    ("positive_days", "Positive days", "pct", "Share of non-flat days with a gain."),
    ("skew", "Skewness", "num", "Skewness of daily returns."),
    ("kurtosis", "Excess kurtosis", "num", "Excess kurtosis of daily returns (normal = 0)."),
    (
        "psr",
        "Probabilistic Sharpe (vs 0)",
        "prob",
        "P(true Sharpe > 0) given sample length, skew, kurtosis.",
    ),
)
TRADE_ROWS = (
    ("avg_win", "Average win", "money", "Mean net P&L of winning trades."),
    ("avg_loss", "Average loss", "money", "Mean net P&L of losing trades."),
    ("payoff_ratio", "Payoff ratio", "num", "Average win / |average loss|."),
    ("expectancy", "Expectancy per trade", "money", "Mean net P&L per trade."),
    ("largest_win", "Largest win", "money", "Best single trade, net."),
    ("largest_loss", "Largest loss", "money", "Worst single trade, net."),
    ("avg_holding_days", "Average holding (days)", "num", "Mean calendar days from entry to exit."),
)
STATS_LABELS = {
    "psr": ("Probabilistic Sharpe", "prob"),
    "probabilistic_sharpe": ("Probabilistic Sharpe", "prob"),
    "dsr": ("Deflated Sharpe", "prob"),
    "deflated_sharpe": ("Deflated Sharpe", "prob"),
    "active_sharpe": ("Active Sharpe (vs benchmark)", "num"),
    "psr_vs_benchmark": ("Probabilistic Sharpe vs benchmark", "prob"),
    "dsr_vs_benchmark": ("Deflated Sharpe vs benchmark", "prob"),
    "n_trials": ("Configurations tried (n_trials)", "int"),
}
STATS_DOCS = {
    "psr": "P(true Sharpe > 0), from the first signal on (metrics.json stats).",
    "dsr": "PSR against the best Sharpe of n_trials skill-less tries; > 0.95 is significant.",
    "active_sharpe": "Annualised Sharpe of daily strategy minus benchmark returns, from the first signal on.",
    "psr_vs_benchmark": "P(strategy beats buy-and-hold: active Sharpe > 0).",
    "dsr_vs_benchmark": "The same, deflated for n_trials; > 0.95 is significant.",
    "n_trials": "Configurations tried to reach this one (tuning.n_trials), used by the deflated ratios.",
}
EXTRA_LABELS = {
    "starting_cash": ("Starting cash", "money"),
    "n_bars": ("Bars", "int"),
    "periods_per_year": ("Periods per year", "int"),
}
SKIP_KEYS = {"benchmark", "ml", "stats", "data", "code_version"}


def _model_text(run: RunFolder, g) -> str:
    fixed = nested(run.metrics, "ml.model")
    if isinstance(fixed, dict) and fixed.get("version"):  # a backtest of a model trained earlier (model.uri)
        return (
            f"{fixed.get('type') or g('model.type')} {fixed['version']} from {fixed.get('uri')}, trained to "
            f"{str(fixed.get('label_end', ''))[:10]}, signals from {str(fixed.get('first_signal', ''))[:10]}"
        )
    if run.has_ml:
        return f"{g('model.type')} ({_params(g('model.params', None))})"
    versions = nested(run.metrics, "live.model_versions") or []
    if versions:  # a live run folder: the journal names the model behind each decision
        return f"{g('model.type')}, live versions: {', '.join(versions)}"
    return "none (rule-based)"


def nested(config: dict[str, Any], dotted: str, default: Any = None) -> Any:
    """Return ``config['a']['b']`` for ``'a.b'``, or ``default``."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _params(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "defaults"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "–" if value is None else str(value)


def header_html(run: RunFolder, first: pd.Timestamp, last: pd.Timestamp) -> str:
    """Return the page header: run name and a one-line summary."""
    cfg = run.config
    symbols = _params(nested(cfg, "data.symbols"))
    strategy = nested(cfg, "strategy.name", "?")
    model = nested(cfg, "model.type")
    what = f"{strategy}" + (f" with {model} model" if model and run.has_ml else "")
    return (
        f"<h1>Tear sheet: {esc(run.name)}</h1>"
        f"<p>{esc(what)} · {esc(symbols)} · {first:%Y-%m-%d} to {last:%Y-%m-%d}"
        f" · {esc(nested(cfg, 'data.timeframe', ''))}</p>"
    )


def _dl(items: list[tuple[str, Any]]) -> str:
    return '<dl class="kv">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items) + "</dl>"


def overview_html(run: RunFolder, first: pd.Timestamp, last: pd.Timestamp) -> str:
    """Return the configuration summary, data provenance and the resolved-config copy."""
    cfg, data = run.config, run.metrics.get("data") or {}
    g = lambda key, default="–": nested(cfg, key, default)  # noqa: E731
    stops = ", ".join(
        f"{k.replace('_', ' ')} {fmt(g('risk.' + k, None), 'pct')}"
        for k in ("stop_loss", "take_profit", "trailing_stop", "max_drawdown_halt")
        if g("risk." + k, None) is not None
    )
    config_items = [
        ("Symbols", _params(g("data.symbols", None))),
        ("Period", f"{g('data.start')} to {g('data.end')} (bars {first:%Y-%m-%d} to {last:%Y-%m-%d})"),
        ("Timeframe", g("data.timeframe")),
        ("Strategy", f"{g('strategy.name')} ({_params(g('strategy.params', None))})"),
        ("Model", _model_text(run, g)),
        ("Features / horizon", f"{_params(g('model.features', None))} / {g('model.horizon')} bar(s)"),
        ("Walk-forward", _params(g("validation", None))),
        (
            "Costs",
            f"commission {fmt(g('broker.commission', None), 'pct')} of value, "
            f"slippage {fmt(g('broker.slippage', None), 'pct')} of price",
        ),
        ("Starting cash", fmt(g("broker.cash", None), "money")),
        (
            "Sizing",
            f"{g('risk.sizing')} x {g('risk.fraction')}, max position {fmt(g('risk.max_position', None), 'pct')}",
        ),
        ("Stops", stops or "none"),
        ("Seed", g("seed")),
    ]
    provenance = [
        ("Data source", data.get("source", g("data.source"))),
        ("Data path", data.get("path", g("data.path"))),
        (
            "Data range",
            f"{data.get('start', data.get('first_bar', '–'))} to {data.get('end', data.get('last_bar', '–'))}",
        ),
        ("Data hash", data.get("hash", "–")),
        ("Code version", run.metrics.get("code_version", "–")),
        ("Run folder", final_name(run.path)),  # not the temporary name it is written under
    ]
    parts = [
        '<div class="grid2"><div><h3>Configuration</h3>',
        _dl(config_items),
        "</div><div><h3>Data provenance</h3>",
        _dl(provenance),
        _validation_html(run.validation),
        "</div></div>",
        "<details><summary>Resolved config (config.yaml)</summary>",
        f"<pre>{esc(run.config_text or '(config.yaml missing)')}</pre></details>",
    ]
    return "".join(parts)


def _validation_html(validation: Any) -> str:
    """Render data_validation.json as a table: one row per symbol and check that is not ok."""
    if validation is None:
        return '<p class="note">No data_validation.json in the run folder.</p>'
    counts = validation.get("counts", {})
    head = (
        f"<h3>Data validation: {esc(str(validation.get('status', '?')))}</h3>"
        f"<p>{esc(', '.join(f'{k} {v}' for k, v in counts.items()))} (checks x symbols)</p>"
    )
    rows = []
    for sym, info in validation.get("symbols", {}).items():
        for check, c in info.get("checks", {}).items():
            if c.get("status") != "ok":
                rows.append(
                    f"<tr><td>{esc(sym)}</td><td>{esc(check)}</td><td>{esc(str(c.get('status')))}</td>"
                    f"<td>{esc(str(c.get('count', '')))}</td><td>{esc(str(c.get('detail', '')))}</td></tr>"
                )
    if not rows:
        return head + "<p>Every check passed for every symbol.</p>"
    table = (
        "<table><thead><tr><th>Symbol</th><th>Check</th><th>Status</th><th>Count</th><th>Detail</th>"
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )
    return head + table


def _value(source: dict[str, Any], computed: dict[str, float], key: str) -> Any:
    value = source.get(key)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else computed.get(key)


def metric_rows(
    metrics: dict[str, Any],
    strat: dict[str, float],
    bench: dict[str, float],
    trades: dict[str, float],
) -> list[tuple[str, str, str, str]]:
    """Return (label, strategy, benchmark, definition) rows; metrics.json wins over computed values."""
    bench_json = metrics.get("benchmark") or {}
    rows = []
    for key, label, kind, doc in RETURN_ROWS + COMPUTED_ROWS:
        rows.append(
            (
                label,
                fmt(_value(metrics, strat, key), kind),
                fmt(_value(bench_json, bench, key), kind),
                doc,
            )
        )
    for key, label, kind, doc in RUN_ROWS:
        bench_value = _value(bench_json, bench, key) if key == "final_value" else bench_json.get(key)
        rows.append((label, fmt(_value(metrics, trades, key), kind), fmt(bench_value, kind), doc))
    for key, label, kind, doc in TRADE_ROWS:
        rows.append((label, fmt(trades.get(key), kind), "–", doc))
    for key, value in (metrics.get("stats") or {}).items():
        label, kind = STATS_LABELS.get(key, (key.replace("_", " ").capitalize(), "num"))
        if isinstance(value, (int, float)) and not is_missing(value):
            rows.append(
                (
                    label,
                    fmt(value, kind),
                    fmt(bench_json.get(key), kind),
                    STATS_DOCS.get(key, "From metrics.json stats."),
                )
            )
    known = {r[0] for r in RETURN_ROWS + RUN_ROWS} | SKIP_KEYS
    for key, value in metrics.items():
        if key not in known and isinstance(value, (int, float)) and not isinstance(value, bool):
            default = (
                key.replace("_", " ").capitalize(),
                "int" if isinstance(value, int) else "num",
            )
            label, kind = EXTRA_LABELS.get(key, default)
            rows.append((label, fmt(value, kind), "–", "From metrics.json."))
    return rows
