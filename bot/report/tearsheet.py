"""Build ``tearsheet.html`` for one run folder, from that folder alone."""

from __future__ import annotations

from pathlib import Path

from bot.report import returns as rt
from bot.report import trade_stats as ts
from bot.report.html import SWATCH_BENCHMARK, SWATCH_STRATEGY, Raw, page, section, table
from bot.report.ml_section import ml_html
from bot.report.overview import header_html, metric_rows, nested, overview_html
from bot.report.performance import performance_html
from bot.report.rank_section import rank_html
from bot.report.run_reader import RunFolder, load_run
from bot.report.trades_section import costs_html, trades_html

TEARSHEET_NAME = "tearsheet.html"


def _metrics_section(run: RunFolder, daily, ppy: int, intraday: bool) -> str:
    strat = rt.return_metrics(daily["equity"], ppy)
    bench_series = daily["benchmark"].dropna() if "benchmark" in daily.columns else None
    bench = rt.return_metrics(bench_series, ppy) if bench_series is not None and len(bench_series) > 2 else {}
    trades = ts.trade_summary(run.trades) if not run.trades.empty else {}
    rows = metric_rows(run.metrics, strat, bench, trades)
    basis = "intraday equity resampled to one value per UTC day, then " if intraday else ""
    note = (
        f'<p class="note">Annualised from daily returns ({basis}{ppy} periods per year). Values from '
        "metrics.json are shown as reported; the others are computed by the report from equity.csv "
        "and trades.csv with empyrical.</p>"
    )
    headers = (
        "Metric",
        Raw(SWATCH_STRATEGY + "Strategy"),
        Raw(SWATCH_BENCHMARK + "Benchmark"),
        "Definition",
    )
    return note + table(headers, rows, cls="metrics")


def build_tearsheet(run: RunFolder) -> str:
    """Return the tear sheet HTML for a loaded run folder."""
    intraday = rt.is_intraday(run.equity.index)
    daily = rt.daily_frame(run.equity)
    ppy = rt.periods_per_year(run.metrics, daily.index)
    first, last = run.equity.index[0], run.equity.index[-1]
    sections = [
        ("overview", "Run overview", overview_html(run, first, last)),
        (
            "metrics",
            "Key metrics (Sharpe, Sortino, Drawdown, VaR)",
            _metrics_section(run, daily, ppy, intraday),
        ),
        ("performance", "Performance", performance_html(daily, ppy, intraday)),
        ("trades", "Trades", trades_html(run.trades, intraday)),
    ]
    if run.has_ml:
        body = ml_html(run.metrics, run.oos, run.folds, run.importance, run.trades)
        sections.append(("ml", "ML diagnostics", body))
    if isinstance(run.metrics.get("rank"), dict):
        sections.append(("rank", "Cross-sectional ranking", rank_html(run.metrics["rank"])))
    sections.append(("costs", "Costs", costs_html(run.trades, nested(run.config, "broker.cash"))))
    nav = [(sec_id, title.split(" (")[0]) for sec_id, title, _ in sections]
    body = "".join(section(sec_id, title, html) for sec_id, title, html in sections)
    return page(f"Tear sheet: {run.name}", header_html(run, first, last), nav, body)


def write_html(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file and an atomic rename."""
    tmp = path.with_name(path.name + ".tmp-report")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def write_tearsheet(run_dir: Path) -> Path:
    """Write ``run_dir/tearsheet.html`` from the run folder alone and return its path."""
    run = load_run(run_dir)
    return write_html(Path(run_dir) / TEARSHEET_NAME, build_tearsheet(run))
