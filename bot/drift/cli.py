"""``python -m bot.drift``: compare two periods of the configured data (and the model's predictions on them).

    python -m bot.drift --config CONFIG --reference 2018-01-01:2019-12-31 --current 2020-01-01:2020-06-30 \\
        --out DIR [--model champion|challenger|VERSION|PATH|none]

Writes ``DIR/drift.json`` (overall ``drift``, per-feature PSI / KS p-value, prediction drift,
performance decay, the ``decision`` the configured ``drift.action`` leads to) and ``DIR/drift.html``.
Periods are inclusive; ``START:END`` or ``START..END`` (use ``..`` with times of day), either side
may be empty. Features are the model's (the config's ``model.features`` without a model). On drift an
alert goes to the log and the webhook in ``$MP_ALERT_WEBHOOK_URL`` (``alerts.webhook_env``).
Exit 0 with or without drift (read ``drift``); 2 config error, 3 data error.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from bot.alerts import Alerter
from bot.cli import base_parser, run_cli, setup_logging
from bot.config import Config
from bot.configure import load_config
from bot.data.loading import load_data
from bot.errors import ConfigError, without_credentials
from bot.features import resolve_feature_names
from bot.models.artifacts import load_model
from bot.models.registry import ModelRegistry
from bot.runfolder import write_json_atomically
from bot.timeframes import bounds

_SPLIT = re.compile(r":(?=\d{4}-|$)")


def parse_period(text: str, where: str) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Return inclusive UTC bounds of ``START:END`` / ``START..END`` (a date-only END covers its day)."""
    if ".." in text:
        start, _, end = text.partition("..")
    else:
        m = _SPLIT.search(text) if not text.startswith(":") else None
        if text.startswith(":"):
            start, end = "", text[1:]
        elif m is None:
            raise ConfigError(where, f"expected START:END, got {text!r}")
        else:
            start, end = text[: m.start()], text[m.end() :]
    try:
        return bounds(start.strip() or None, end.strip() or None)
    except ConfigError as e:
        raise ConfigError(where, e.what) from None


def _model(cfg: Config, ref: str):
    """Return (model, {"name", "version"|"path"}) or (None, reason)."""
    if ref == "none":
        return None, "no model requested (--model none)"
    if Path(ref).is_dir():
        return load_model(ref), {"path": str(Path(ref).resolve())}

    reg = ModelRegistry.for_config(cfg)
    if not ref.isdigit() and reg.alias_version(ref.lstrip("@")) is None:
        return None, f"no {ref} registered for {reg.name} in {without_credentials(cfg.registry.tracking_uri)}"
    model, version = reg.load(ref)
    return model, {"name": reg.name, "version": version}


Bounds = tuple[pd.Timestamp | None, pd.Timestamp | None]  # (start, end), as parse_period returns


def run_drift(cfg: Config, reference: Bounds, current: Bounds, model_ref: str = "champion") -> dict:
    """Return the drift.json document for two periods of the configured data."""
    from bot.drift.detector import decide_action
    from bot.drift.monitor import compare, period_frame

    bars, _ = load_data(cfg)
    model, about = _model(cfg, model_ref)
    features = list(model.features) if model is not None else resolve_feature_names(cfg.model.features)
    ref = period_frame(bars, features, *reference, model=model)
    cur = period_frame(bars, features, *current, model=model)
    for name, period, text in (("--reference", ref, reference), ("--current", cur, current)):
        if len(period.features) == 0:
            raise ConfigError(name, f"no bars of {', '.join(bars)} fall in {text[0]}..{text[1]}")
    report = compare(ref, cur, cfg.drift)
    if model is None:
        report["prediction"]["reason"] = report["performance"]["reason"] = about
    report["model"] = about if model is not None else None
    report["decision"] = decide_action(report, cfg.drift).as_dict()
    return report


def main(argv: list[str] | None = None) -> int:
    p = base_parser("python -m bot.drift", "Data, prediction and performance drift between two periods.")
    p.add_argument("--reference", required=True, help="START:END of the reference period (e.g. the training window)")
    p.add_argument("--current", required=True, help="START:END of the period to check")
    p.add_argument("--out", required=True, type=Path, help="folder for drift.json and drift.html")
    p.add_argument(
        "--model",
        default="champion",
        help="champion (default), challenger, a version number, an artifact folder, or none",
    )
    a = p.parse_args(argv)
    setup_logging(a.quiet, a.verbose)

    def go() -> int:
        from bot.drift.html import render_html

        for name in ("drift.json", "drift.html"):
            (a.out / name).unlink(missing_ok=True)
        cfg = load_config(a.config, a.set)
        report = run_drift(cfg, parse_period(a.reference, "--reference"), parse_period(a.current, "--current"), a.model)
        a.out.mkdir(parents=True, exist_ok=True)
        (a.out / "drift.html").write_text(render_html(report, f"Drift report: {cfg.name}"))
        write_json_atomically(a.out / "drift.json", report)
        verdict = "DRIFT" if report["drift"] else "no drift"
        print(
            f"{verdict}: {len(report['data']['drifted_features'])} of {report['data']['n_features']} features "
            f"drifted; prediction drift {report['prediction'].get('drift')}; "
            f"performance decay {report['performance'].get('drift')}; action {report['decision']['action']}"
        )
        for reason in report["reasons"]:
            print(f"  - {reason}")
        print(f"report: {a.out / 'drift.json'}")
        if report["drift"]:
            Alerter.from_config(cfg.alerts).send(
                "warning",
                f"drift in {cfg.name}",
                "; ".join(report["reasons"]),
                action=report["decision"]["action"],
                current=a.current,
            )
        return 0

    return run_cli(go)
