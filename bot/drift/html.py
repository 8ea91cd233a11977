"""Render a drift report as one self-contained HTML page (inline CSS and SVG, no network request)."""

from __future__ import annotations

import html
import math

from bot.drift.detector import scores_table

CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;font-size:.85rem}
td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}.bad{color:#b00020;font-weight:600}.ok{color:#1b7f3b;font-weight:600}
.verdict{padding:.6rem 1rem;border-radius:6px;display:inline-block}.drift{background:#fde7ea}.quiet{background:#e6f4ea}
.muted{color:#777}
"""


def _num(v, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) < 1e-3 and v != 0 else f"{v:.{digits}f}"
    return html.escape(str(v))


def _psi_chart(rows, threshold: float) -> str:
    """Return an inline SVG bar chart of PSI per feature with the threshold line."""
    rows = [r for r in rows if isinstance(r["psi"], float) and math.isfinite(r["psi"])][:40]
    if not rows:
        return "<p class='muted'>no features</p>"
    top = max(max(r["psi"] for r in rows), threshold) * 1.1
    bar_h, label_w, width = 16, 160, 640
    height = bar_h * len(rows) + 24
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{label_w + width + 60}' height='{height}' "
        "role='img' aria-label='PSI per feature'>"
    ]
    for i, r in enumerate(rows):
        y = 4 + i * bar_h
        w = width * r["psi"] / top
        color = "#d9534f" if r["drifted"] else "#5b8def"
        parts.append(
            f"<text x='{label_w - 6}' y='{y + 11}' font-size='11' text-anchor='end'>"
            f"{html.escape(str(r['feature']))}</text>"
        )
        parts.append(f"<rect x='{label_w}' y='{y}' width='{w:.1f}' height='{bar_h - 4}' fill='{color}'/>")
        parts.append(f"<text x='{label_w + w + 4:.1f}' y='{y + 11}' font-size='10'>{r['psi']:.3f}</text>")
    x = label_w + width * threshold / top
    parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='0' y2='{height - 16}' stroke='#333' stroke-dasharray='4 3'/>")
    parts.append(f"<text x='{x:.1f}' y='{height - 4}' font-size='10' text-anchor='middle'>PSI {threshold}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _kv_table(d: dict, keys) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{_num(d.get(k))}</td></tr>" for k in keys if k in d)
    return f"<table>{rows}</table>"


def _section(title: str, d: dict, keys) -> str:
    if not d.get("available", True):
        return f"<h2>{title}</h2><p class='muted'>not available: {html.escape(str(d.get('reason', '')))}</p>"
    verdict = "<span class='bad'>drift</span>" if d.get("drift") else "<span class='ok'>stable</span>"
    return f"<h2>{title}: {verdict}</h2>" + _kv_table(d, keys)


def _performance(p: dict) -> str:
    if not p.get("available", True):
        return _section("Performance", p, ())
    verdict = "<span class='bad'>decay</span>" if p.get("drift") else "<span class='ok'>holding</span>"
    rows = ""
    for k in ("accuracy", "brier", "edge", "n"):
        rows += (
            f"<tr><td>{k}</td><td>{_num(p.get('promised', {}).get(k))}</td>"
            f"<td>{_num(p.get('current', {}).get(k))}</td></tr>"
        )
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in p.get("reasons", []))
    return (
        f"<h2>Performance: {verdict}</h2><table><tr><th></th><th>promised</th><th>current</th></tr>{rows}"
        f"</table><ul>{reasons}</ul>"
    )


def _model_text(model: dict) -> str:
    if model.get("path"):
        return model["path"]
    return f"{model['name']} version {model.get('version')}" if model.get("name") else "none"


def render_html(report: dict, title: str = "Drift report") -> str:
    """Return the drift report as a self-contained HTML document."""
    table = scores_table(report)
    rows = table.to_dict("records")
    body_rows = "".join(
        f"<tr><td>{html.escape(str(r['feature']))}</td><td>{_num(r['psi'], 3)}</td>"
        f"<td>{_num(r['ks_statistic'], 3)}</td>"
        f"<td>{_num(r['ks_pvalue'], 3)}</td><td>{_num(r['autocorrelation'], 2)}</td><td>{r['n_reference']}</td>"
        f"<td>{r['n_current']}</td><td class='{'bad' if r['drifted'] else 'ok'}'>{'yes' if r['drifted'] else 'no'}"
        "</td></tr>"
        for r in rows
    )
    ref, cur, dec = report.get("reference", {}), report.get("current", {}), report.get("decision", {})
    th = report.get("thresholds", {})
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in report.get("reasons", [])) or "<li>none</li>"
    model = report.get("model") or {}
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="verdict {"drift" if report["drift"] else "quiet"}"><b>{"DRIFT" if report["drift"] else "No drift"}</b>
 — action: <b>{html.escape(str(dec.get("action", "none")))}</b></p>
<ul>{reasons}</ul>
<table><tr><th></th><th>start</th><th>end</th><th>rows</th></tr>
<tr><td>reference</td><td>{_num(ref.get("start"))}</td><td>{_num(ref.get("end"))}</td><td>{
        _num(ref.get("n_rows"))
    }</td></tr>
<tr><td>current</td><td>{_num(cur.get("start"))}</td><td>{_num(cur.get("end"))}</td><td>{
        _num(cur.get("n_rows"))
    }</td></tr>
</table>
<p class="muted">model: {html.escape(_model_text(model))}.
A feature drifts when PSI ≥ {th.get("psi_threshold")} and its KS p-value (effective sample sizes) is below
{th.get("ks_alpha")} / number of features; data drift needs at least {
        report["data"].get("min_drifted")
    } drifted features.</p>
<h2>Data drift: {'<span class="bad">drift</span>' if report["data"]["drift"] else '<span class="ok">stable</span>'}
 ({len(report["data"]["drifted_features"])} of {report["data"]["n_features"]} features)</h2>
{_psi_chart(rows, float(th.get("psi_threshold", 0.25)))}
<table><tr><th>feature</th><th>PSI</th><th>KS</th><th>KS p</th><th>autocorr.</th><th>n ref</th><th>n cur</th>
<th>drifted</th></tr>{body_rows}</table>
{
        _section(
            "Prediction drift (P(up))",
            report["prediction"],
            ("psi", "ks_statistic", "ks_pvalue", "mean_reference", "mean_current", "n_reference", "n_current"),
        )
    }
{_performance(report["performance"])}
</body></html>
"""
