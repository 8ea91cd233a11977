"""``python -m bot.retrain --config CONFIG --out DIR``: one gated retraining, decision in DIR/retrain.json.

Trains a challenger on the latest window, scores it and the champion on the same most recent
out-of-sample window, promotes it only through the gate (``retrain`` config section), records the
version and decision in MLflow and writes ``DIR/retrain.json``. Exit 0 whether or not it promoted
(read ``promoted``); 1 the registry could not be read or written (``error: registry.tracking_uri: ...``,
nothing promoted: an outage is never "no champion yet"); 2 config error, 3 data error.
``--dry-run`` decides without registering.
"""

from __future__ import annotations

import json
from pathlib import Path

from loguru import logger

from bot.cli import base_parser, run_cli, setup_logging
from bot.configure import load_config
from bot.runfolder import write_json_atomically


def main(argv: list[str] | None = None) -> int:
    p = base_parser("python -m bot.retrain", "Retrain a challenger and promote it only if it beats the champion.")
    p.add_argument("--out", required=True, type=Path, help="folder for retrain.json")
    p.add_argument("--dry-run", action="store_true", help="decide, but register and promote nothing")
    a = p.parse_args(argv)
    setup_logging(a.quiet, a.verbose)

    def go() -> int:
        from bot.retrain.job import metric_row, run_retrain

        out = a.out / "retrain.json"
        out.unlink(missing_ok=True)  # a failed run must not leave an earlier decision looking current
        cfg = load_config(a.config, a.set)
        outcome = run_retrain(cfg, dry_run=a.dry_run)
        doc = outcome.as_dict()
        doc["metric"], doc["margin"] = cfg.retrain.metric, cfg.retrain.margin
        write_json_atomically(out, doc)
        print(metric_row(outcome, cfg.retrain.metric))
        print(outcome.decision.reason)
        print(f"decision: {out}")
        logger.debug(json.dumps(doc["versions"]))
        return 0

    return run_cli(go)
