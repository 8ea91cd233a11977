"""Small HTML building blocks: escaping, number formats, tables, figures and the page shell.

Everything is inline (CSS, JS, SVG): the page makes no network request and opens offline.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from bot.report.plotting import BENCHMARK_COLOR, STRATEGY_COLOR


class Raw(str):
    """HTML that is already safe; ``esc`` passes it through unchanged."""


def esc(value: Any) -> str:
    """Escape any value for HTML text or attributes (``Raw`` values pass through)."""
    return value if isinstance(value, Raw) else escape(str(value), quote=True)


SWATCH_STRATEGY = '<span class="swatch strategy" aria-hidden="true"></span>'
SWATCH_BENCHMARK = '<span class="swatch benchmark" aria-hidden="true"></span>'


def is_missing(value: Any) -> bool:
    """Return True for None, NaN and infinities."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fmt(value: Any, kind: str = "num") -> str:
    """Format a number: ``pct`` (fraction as %), ``num`` (2 dp), ``int``, ``money``, ``prob`` (3 dp)."""
    if is_missing(value):
        return "–"
    if isinstance(value, str):
        return value
    v = float(value)
    if kind == "pct":
        return f"{v * 100:,.2f}%"
    if kind == "int":
        return f"{v:,.0f}"
    if kind == "money":
        return f"{v:,.2f}"
    if kind == "prob":
        return f"{v:.3f}"
    return f"{v:,.2f}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "", caption: str = "") -> str:
    """Return a table whose headers are <th> text and cells are pre-formatted (escaped here)."""
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    body = []
    for row in rows:
        cells = [f'<th scope="row">{esc(row[0])}</th>'] + [f"<td>{esc(c)}</td>" for c in row[1:]]
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<table class="{esc(cls)}">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def figure(fig_id: str, title: str, body: str, note: str = "", extra_cls: str = "") -> str:
    """Return a chart block: an <h3> title and a note as real text above the chart body."""
    note_html = f'<p class="note">{note}</p>' if note else ""
    return (
        f'<figure class="chart {esc(extra_cls)}" id="{esc(fig_id)}">'
        f"<figcaption><h3>{esc(title)}</h3>{note_html}</figcaption>"
        f'<div class="plot">{body}</div></figure>'
    )


def section(sec_id: str, title: str, body: str) -> str:
    """Return a top-level report section with an <h2> title."""
    return f'<section id="{esc(sec_id)}"><h2>{esc(title)}</h2>{body}</section>'


def json_script(elem_id: str, data: Any) -> str:
    """Embed ``data`` as an inert JSON script block (safe against ``</script>``)."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return f'<script type="application/json" id="{esc(elem_id)}">{text}</script>'


CSS = f"""
:root {{ --strategy: {STRATEGY_COLOR}; --benchmark: {BENCHMARK_COLOR}; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; font: 14px/1.45 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif;
  color: #1d2330; background: #f4f5f7; }}
header {{ background: #1d2330; color: #fff; padding: 18px 28px 12px; }}
header h1 {{ margin: 0 0 4px; font-size: 22px; }}
header p {{ margin: 2px 0; color: #cfd6e4; }}
nav {{ position: sticky; top: 0; z-index: 2; background: #2c3446; padding: 6px 28px; }}
nav a {{ color: #fff; margin-right: 18px; text-decoration: none; font-weight: 600; }}
main {{ max-width: 1180px; margin: 0 auto; padding: 8px 20px 40px; }}
section {{ background: #fff; border-radius: 6px; padding: 6px 22px 18px; margin: 18px 0;
  box-shadow: 0 1px 3px rgba(0,0,0,.08); }}
h2 {{ font-size: 19px; border-bottom: 2px solid #e3e6ec; padding-bottom: 6px; }}
h3 {{ font-size: 15px; margin: 0 0 2px; }}
figure.chart {{ margin: 14px 0 20px; }}
figcaption .note, p.note {{ margin: 2px 0 4px; color: #5a6272; font-size: 12.5px; }}
.plot svg {{ width: 100%; height: auto; display: block; }}
.grid2 {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 0 26px; }}
table {{ border-collapse: collapse; margin: 8px 0 14px; font-size: 13px; }}
th, td {{ padding: 4px 10px; border-bottom: 1px solid #e6e8ee; text-align: right; white-space: nowrap; }}
thead th {{ background: #eef0f4; }}
tbody th, thead th:first-child {{ text-align: left; font-weight: 600; }}
table.metrics thead th:last-child {{ text-align: left; }}
td.text, th.text, table.runs td {{ text-align: left; white-space: normal; }}
table.runs td:nth-child(5) {{ min-width: 220px; }}
table.runs thead th {{ text-align: left; }}
table.metrics td:last-child {{ text-align: left; white-space: normal; color: #5a6272; font-size: 12px; }}
.swatch {{ display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px;
  vertical-align: -1px; }}
.strategy {{ background: var(--strategy); }} .benchmark {{ background: var(--benchmark); }}
dl.kv {{ display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 8px 0; }}
dl.kv dt {{ font-weight: 600; color: #3b4356; }} dl.kv dd {{ margin: 0; overflow-wrap: anywhere; }}
pre {{ background: #f6f7f9; padding: 10px; overflow: auto; font-size: 12px; max-height: 480px; }}
p.empty {{ color: #8a6d00; background: #fff8e1; padding: 8px 12px; border-radius: 4px; }}
.toggle {{ font-size: 13px; margin: 4px 0; }}
.hidden {{ display: none; }}
#trade-table th {{ cursor: pointer; user-select: none; }}
#trade-table td, #trade-table th {{ padding: 3px 7px; font-size: 12.5px; white-space: nowrap; }}
details {{ margin: 6px 0 12px; }}
#trade-table th[aria-sort="ascending"]::after {{ content: " \\25B2"; }}
#trade-table th[aria-sort="descending"]::after {{ content: " \\25BC"; }}
.pager button {{ margin-right: 6px; }}
.scroll {{ overflow-x: auto; }}
footer {{ text-align: center; color: #7a8191; font-size: 12px; padding: 10px; }}
"""

JS = """
(function () {
  var box = document.getElementById('log-scale');
  if (box) {
    box.addEventListener('change', function () {
      document.getElementById('equity-linear').classList.toggle('hidden', box.checked);
      document.getElementById('equity-log').classList.toggle('hidden', !box.checked);
    });
  }
  var src = document.getElementById('trades-data');
  var tbl = document.getElementById('trade-table');
  if (!src || !tbl) { return; }
  var data = JSON.parse(src.textContent);
  var rows = data.rows, pageSize = 25, page = 0, sortCol = -1, sortDir = 1;
  var body = tbl.tBodies[0], info = document.getElementById('trade-page-info');
  function render() {
    var pages = Math.max(1, Math.ceil(rows.length / pageSize));
    page = Math.min(Math.max(page, 0), pages - 1);
    var start = page * pageSize, html = [];
    rows.slice(start, start + pageSize).forEach(function (r) {
      var cells = r.map(function (v, i) {
        var dp = data.fmt[i], text;
        if (v === null) { text = '\\u2013'; }
        else if (dp === null) { text = String(v); }
        else { text = Number(v).toLocaleString('en-US', {minimumFractionDigits: dp, maximumFractionDigits: dp}); }
        var d = document.createElement('td'); d.textContent = text;
        if (dp === null) { d.className = 'text'; }
        return d.outerHTML;
      });
      html.push('<tr>' + cells.join('') + '</tr>');
    });
    body.innerHTML = html.join('');
    info.textContent = 'Trades ' + (rows.length ? start + 1 : 0) + '\\u2013' +
      Math.min(start + pageSize, rows.length) + ' of ' + rows.length;
  }
  function sortBy(col) {
    sortDir = (col === sortCol) ? -sortDir : 1; sortCol = col;
    rows.sort(function (a, b) {
      var x = a[col], y = b[col];
      if (x === y) { return 0; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      return (x < y ? -1 : 1) * sortDir;
    });
    Array.prototype.forEach.call(tbl.tHead.rows[0].cells, function (th, i) {
      th.setAttribute('aria-sort', i === col ? (sortDir > 0 ? 'ascending' : 'descending') : 'none');
    });
    page = 0; render();
  }
  Array.prototype.forEach.call(tbl.tHead.rows[0].cells, function (th, i) {
    th.addEventListener('click', function () { sortBy(i); });
  });
  document.getElementById('trade-prev').addEventListener('click', function () { page--; render(); });
  document.getElementById('trade-next').addEventListener('click', function () { page++; render(); });
  render();
})();
"""


def page(title: str, header_html: str, nav: Sequence[tuple[str, str]], body: str) -> str:
    """Return the complete self-contained HTML document."""
    links = "".join(f'<a href="#{esc(i)}">{esc(t)}</a>' for i, t in nav)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{esc(title)}</title><link rel="icon" href="data:,"><style>{CSS}</style></head>'
        f"<body><header>{header_html}</header><nav>{links}</nav><main>{body}</main>"
        "<footer>Generated by bot.report from the run folder alone; rebuild with "
        "<code>python -m bot.report &lt;run_dir&gt;</code>.</footer>"
        f"<script>{JS}</script></body></html>\n"
    )
