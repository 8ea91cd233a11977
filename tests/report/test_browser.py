"""Open rendered reports in headless Chromium, as a reader would, and save screenshots.

Needs Debian's ``chromium`` (``.ci/install_chromium.sh``). Skipped when it is missing, unless the CI
environment variable is ``true``: then the missing browser is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from cdp_pipe import Browser
from conftest import make_run_folder

from bot.report import write_comparison, write_tearsheet

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "report"
SECTIONS = ["overview", "metrics", "performance", "trades", "ml", "costs"]
REQUIRED_WORDS = ["Sharpe", "Drawdown", "Monthly", "Trades", "Calibration", "Confusion"]

PAGE_STATE = """JSON.stringify({
  sections: [...document.querySelectorAll('main > section')].map(s => ({
    id: s.id, title: s.querySelector('h2').textContent, height: s.getBoundingClientRect().height})),
  charts: [...document.querySelectorAll('figure.chart')].map(f => {
    const drawn = [...f.querySelectorAll('.plot svg, .plot table')].filter(e => {
      const r = e.getBoundingClientRect(); return r.width > 50 && r.height > 50; });
    return {id: f.id, title: (f.querySelector('figcaption h3') || {}).textContent || '',
            drawn: drawn.length, marks: f.querySelectorAll('.plot svg path, .plot td').length,
            empty: !!f.querySelector('p.empty')};
  }),
  text: document.body.innerText,
  tradeRows: document.querySelectorAll('#trade-table tbody tr').length,
  pageInfo: (document.getElementById('trade-page-info') || {}).textContent,
})"""

CLIP = """JSON.stringify([...document.querySelectorAll('main > section, figure.chart')].map(e => {
  const r = e.getBoundingClientRect();
  return [e.id, r.x, r.y + window.scrollY, r.width, r.height];
}))"""


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is not installed but CI=true: run .ci/install_chromium.sh")
    pytest.skip("chromium is not installed (run .ci/install_chromium.sh); set CI=true to make this a failure")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = _chromium()
    with Browser(binary, tmp_path_factory.mktemp("chromium-profile")) as b:
        yield b


@pytest.fixture(scope="module")
def ml_report(tmp_path_factory) -> Path:
    run_dir = make_run_folder(
        tmp_path_factory.mktemp("runs") / "ml-run", name="browser-ml", n_symbols=4, n_bars=900, n_trades=120
    )
    return write_tearsheet(run_dir)


def _open(browser: Browser, path: Path) -> None:
    browser.open_page(path.resolve().as_uri())
    browser.drain(0.3)


def _assert_clean_load(browser: Browser, path: Path) -> None:
    assert browser.console_errors() == []
    assert browser.requested_urls() == [path.resolve().as_uri()]


def _save_screenshots(browser: Browser, prefix: str) -> list[Path]:
    saved = [browser.screenshot(ARTIFACTS / f"{prefix}-page.png")]
    for elem_id, x, y, w, h in json.loads(browser.evaluate(CLIP)):
        if w > 0 and h > 0:
            clip = {"x": x, "y": y, "width": w, "height": h}
            saved.append(browser.screenshot(ARTIFACTS / f"{prefix}-{elem_id}.png", clip))
    return saved


def test_ml_tearsheet_in_chromium(browser, tmp_path):
    run_dir = make_run_folder(tmp_path / "ml-run", name="browser-ml", n_symbols=4, n_bars=900, n_trades=120)
    html = write_tearsheet(run_dir)
    _open(browser, html)
    _assert_clean_load(browser, html)

    state = json.loads(browser.evaluate(PAGE_STATE))
    assert [s["id"] for s in state["sections"]] == SECTIONS
    assert all(s["height"] > 100 for s in state["sections"]), state["sections"]
    assert len(state["charts"]) >= 19
    for chart in state["charts"]:
        assert chart["title"] and chart["drawn"] >= 1 and chart["marks"] >= 4 and not chart["empty"], chart
    for word in REQUIRED_WORDS:
        assert word in state["text"], word
    assert state["tradeRows"] == 25 and state["pageInfo"] == "Trades 1–25 of 120"

    saved = _save_screenshots(browser, "tearsheet-ml")
    assert all(p.stat().st_size > 2000 for p in saved)


def test_trade_table_sorts_and_pages(browser, ml_report):
    html = ml_report
    _open(browser, html)
    col = "[...document.querySelectorAll('#trade-table thead th')].findIndex(th => th.textContent === 'Net P&L')"
    read = f"""JSON.stringify([...document.querySelectorAll('#trade-table tbody tr')].map(
        tr => parseFloat(tr.cells[{col}].textContent.replace(/,/g, ''))))"""
    browser.evaluate(f"document.querySelectorAll('#trade-table thead th')[{col}].click()")
    ascending = json.loads(browser.evaluate(read))
    assert len(ascending) == 25 and ascending == sorted(ascending)
    browser.evaluate(f"document.querySelectorAll('#trade-table thead th')[{col}].click()")
    descending = json.loads(browser.evaluate(read))
    assert descending == sorted(descending, reverse=True) and descending[0] >= ascending[-1]
    browser.evaluate("document.getElementById('trade-next').click()")
    assert browser.evaluate("document.getElementById('trade-page-info').textContent") == "Trades 26–50 of 120"
    shown = "document.getElementById('equity-log').getBoundingClientRect().height"
    assert browser.evaluate(shown) == 0
    browser.evaluate("document.getElementById('log-scale').click()")
    assert browser.evaluate(shown) > 100
    _assert_clean_load(browser, html)


def test_rule_and_crypto_reports_and_comparison_in_chromium(browser, tmp_path):
    rule = make_run_folder(tmp_path / "rule", name="browser-rule", ml=False, n_bars=500, n_trades=40, seed=2)
    crypto = make_run_folder(
        tmp_path / "crypto", name="browser-crypto", intraday=True, n_bars=24 * 400, n_trades=150, n_symbols=2, seed=3
    )
    for run_dir, prefix, has_ml in (
        (rule, "tearsheet-rule", False),
        (crypto, "tearsheet-crypto", True),
    ):
        html = write_tearsheet(run_dir)
        _open(browser, html)
        _assert_clean_load(browser, html)
        state = json.loads(browser.evaluate(PAGE_STATE))
        assert ("ml" in [s["id"] for s in state["sections"]]) == has_ml
        assert all(c["drawn"] >= 1 and not c["empty"] for c in state["charts"]), state["charts"]
        browser.screenshot(ARTIFACTS / f"{prefix}-page.png")

    out = write_comparison([rule, crypto], tmp_path / "compare.html")
    _open(browser, out)
    _assert_clean_load(browser, out)
    state = json.loads(browser.evaluate(PAGE_STATE))
    assert [s["id"] for s in state["sections"]] == ["runs", "metrics", "performance"]
    assert all(c["drawn"] >= 1 for c in state["charts"])
    _save_screenshots(browser, "compare")
