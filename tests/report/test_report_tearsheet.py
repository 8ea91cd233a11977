"""The tear sheet HTML: sections, visible text, self-containment, size, determinism, edge cases."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_run_folder
from report_helpers import external_references, parse

from bot.report import build_tearsheet, write_tearsheet
from bot.report.run_reader import load_run

PERFORMANCE_CHARTS = [
    "chart-equity",
    "chart-drawdown",
    "chart-monthly",
    "chart-yearly",
    "chart-distribution",
    "chart-rolling-sharpe",
    "chart-rolling-vol",
    "chart-exposure",
]
TRADE_CHARTS = [
    "chart-exit-reasons",
    "chart-trade-pnl",
    "chart-holding",
    "chart-symbols",
    "chart-costs",
]
ML_CHARTS = [
    "chart-confusion",
    "chart-roc",
    "chart-calibration",
    "chart-hit-rate",
    "chart-folds",
    "chart-importance-gain",
]
REQUIRED_WORDS = ["Sharpe", "Drawdown", "Monthly", "Trades", "Calibration", "Confusion"]


def _figure(html: str, fig_id: str) -> str:
    match = re.search(rf'<figure class="chart[^"]*" id="{fig_id}">(.*?)</figure>', html, re.S)
    assert match, f"{fig_id} missing"
    return match.group(1)


@pytest.fixture(scope="module")
def ml_run(tmp_path_factory) -> Path:
    run_dir = make_run_folder(tmp_path_factory.mktemp("report") / "ml", name="ml", n_bars=700)
    write_tearsheet(run_dir)
    return run_dir


@pytest.fixture(scope="module")
def ml_html(ml_run) -> str:
    return (ml_run / "tearsheet.html").read_text(encoding="utf-8")


def test_ml_report_has_every_section_and_required_visible_text(ml_html):
    page = parse(ml_html)
    for word in REQUIRED_WORDS:
        assert word in page.visible, word
    for sec in ("overview", "metrics", "performance", "trades", "ml", "costs"):
        assert sec in page.ids
    for title in (
        "Equity curve vs benchmark",
        "Monthly returns (%)",
        "Calibration curve (reliability diagram)",
        "Confusion matrix (out of sample)",
        "Trade P&L distribution",
        "Five worst drawdowns",
        "Crisis periods",
    ):
        assert title in page.headings
    assert "China devaluation sell-off" in page.visible  # the fixture runs 2015-01 .. 2017-09


def test_every_chart_is_present_and_drawn(ml_html):
    for fig_id in PERFORMANCE_CHARTS + TRADE_CHARTS + ML_CHARTS:
        body = _figure(ml_html, fig_id)
        assert 'class="empty"' not in body, fig_id
        assert "<table" in body or len(re.findall(r"<path ", body)) > 5, fig_id
        assert re.search(r"<figcaption><h3>[^<]+</h3>", body), fig_id


def test_report_is_self_contained(ml_html):
    assert external_references(ml_html) == []
    assert "http://" not in ml_html and "https://" not in ml_html
    assert '<link rel="stylesheet"' not in ml_html and "@import" not in ml_html


def test_ids_are_unique_so_inline_svgs_do_not_clash(ml_html):
    ids = parse(ml_html).ids
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates
    for ref in set(re.findall(r'(?:url\(#|href="#)([^)"]+)', ml_html)):
        assert ref in ids, ref


def test_metrics_table_puts_strategy_beside_benchmark(ml_html):
    table = re.search(r'<table class="metrics">(.*?)</table>', ml_html, re.S).group(1)
    headers = re.findall(r"<th scope=\"col\">(.*?)</th>", table)
    assert [re.sub(r"<[^>]+>", "", h) for h in headers] == [
        "Metric",
        "Strategy",
        "Benchmark",
        "Definition",
    ]
    for label in (
        "Sortino ratio",
        "Calmar ratio",
        "Tail ratio",
        "Daily VaR 95%",
        "Daily CVaR 95%",
        "Best day",
        "Worst day",
        "Average win",
        "Average loss",
        "Win rate",
        "Profit factor",
    ):
        assert f'<th scope="row">{label}</th>' in table, label


def test_config_copy_and_provenance_are_shown(make_run):
    run_dir = make_run("prov", n_bars=300, n_trades=20)
    html = build_tearsheet(load_run(run_dir))
    assert "sha256:0f3a9c" in html and "b77c22a" in html
    pre = re.search(r"<pre>(.*?)</pre>", html, re.S).group(1)
    assert "max_drawdown_halt: 0.3" in pre and "<a " not in pre


def test_rule_strategy_report_has_no_ml_section(make_run):
    html = write_tearsheet(make_run("rule", ml=False, n_bars=400)).read_text(encoding="utf-8")
    page = parse(html)
    assert "ml" not in page.ids and "Calibration" not in page.visible
    for word in ("Sharpe", "Drawdown", "Monthly", "Trades"):
        assert word in page.visible


def test_rebuild_is_deterministic(ml_run, ml_html):
    assert build_tearsheet(load_run(ml_run)) == ml_html


def test_crypto_intraday_run_is_annualised_with_365_daily_periods(make_run):
    run_dir = make_run("crypto", intraday=True, n_bars=24 * 420, n_trades=100, n_symbols=2)
    html = build_tearsheet(load_run(run_dir))
    assert "resampled to one value per UTC day, then 365 periods per year" in html
    assert "Windows of 182 and 365 daily periods" in html
    assert re.search(r'"2015-01-\d\d \d\d:\d\d"', html), "intraday trade times keep hours"


def test_run_without_trades_or_optional_files(make_run):
    run_dir = make_run("quiet", n_bars=300, n_trades=5)
    (run_dir / "trades.csv").write_text(",".join(pd.read_csv(run_dir / "trades.csv").columns) + "\n")
    for name in ("oos_predictions.csv", "folds.csv", "feature_importance.csv"):
        (run_dir / name).unlink()
    html = build_tearsheet(load_run(run_dir))
    page = parse(html)
    assert "The run made no trades." in page.visible
    assert "No oos_predictions.csv" in page.visible  # metrics.json still has an ml block


def test_twenty_symbol_fifteen_year_report_stays_small_and_quick(tmp_path):
    run_dir = make_run_folder(tmp_path / "big", name="big", n_symbols=20, n_bars=3780, n_trades=8000)
    started = time.perf_counter()
    path = write_tearsheet(run_dir)
    elapsed = time.perf_counter() - started
    size = path.stat().st_size
    assert size < 5 * 1024 * 1024, f"{size / 1e6:.2f} MB"
    assert elapsed < 20, f"{elapsed:.1f} s"
    html = path.read_text(encoding="utf-8")
    assert html.count('["') >= 8000  # every trade is in the sortable table's data
    print(f"big report: {size / 1e6:.2f} MB in {elapsed:.1f} s")


def test_trade_table_holds_every_trade(make_run):
    run_dir = make_run("count", n_bars=400, n_trades=57)
    html = build_tearsheet(load_run(run_dir))
    data = re.search(r'<script type="application/json" id="trades-data">(.*?)</script>', html, re.S).group(1)
    assert data.count('["') == 57
    assert Path(run_dir / "trades.csv").read_text().count("\n") == 58
