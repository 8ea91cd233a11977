"""``python -m bot.models``: list, show, promote and roll back registered model versions; log backtests.

    python -m bot.models list     --config CONFIG
    python -m bot.models show     --config CONFIG [champion|challenger|VERSION]
    python -m bot.models promote  --config CONFIG VERSION [--reason TEXT]
    python -m bot.models rollback --config CONFIG [--reason TEXT]
    python -m bot.models log-backtest RUN_FOLDER

The registry is the config's ``registry`` section (default: sqlite:///mlruns/mlflow.db); the registered
model is ``registry.model_name`` (default: the config's ``name``). Exit 0 ok, 2 config / registry error,
3 artifact that fails verification.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from bot.cli import program, run_cli, setup_logging
from bot.configure import load_config
from bot.errors import without_credentials
from bot.models.registry import CHAMPION, ModelRegistry


def parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m bot.models``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", required=True, help="YAML run config (its registry section and name)")
    common.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    common.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    common.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    p = argparse.ArgumentParser(prog=program("python -m bot.models"), description="Model registry commands.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", parents=[common], help="list versions with aliases, window and gate results")
    show = sub.add_parser("show", parents=[common], help="print one version's tags and manifest facts")
    show.add_argument("ref", nargs="?", default=CHAMPION, help="version number or alias (default champion)")
    promote = sub.add_parser("promote", parents=[common], help="make a version the champion")
    promote.add_argument("version", type=int)
    promote.add_argument("--reason", default="manual promotion")
    rollback = sub.add_parser("rollback", parents=[common], help="restore the previous champion")
    rollback.add_argument("--reason", default="manual rollback")
    log = sub.add_parser("log-backtest", help="log a backtest run folder to MLflow (params, metrics, files)")
    log.add_argument("run", type=Path)
    log.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    log.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return p


def _when(ms: int) -> str:
    if not ms:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def cmd_list(reg: ModelRegistry) -> int:
    rows = reg.versions()
    if not rows:
        print(f"{reg.name}: no versions in {without_credentials(reg.cfg.tracking_uri)}")
        return 0
    print(f"{reg.name} ({without_credentials(reg.cfg.tracking_uri)})")
    print(f"{'version':>7}  {'aliases':<20} {'created':<20} {'trained to':<26} {'gate':<10} reason")
    for v in rows:
        t = v.tags
        print(
            f"{v.version:>7}  {','.join(v.aliases) or '-':<20} {_when(v.created_ms):<20} "
            f"{t.get('label_end', '-')[:25]:<26} {t.get('gate', '-'):<10} "
            f"{t.get('rolled_back') and 'rolled back: ' + t['rolled_back'] or t.get('reason', v.description) or ''}"
        )
    return 0


def cmd_show(reg: ModelRegistry, ref: str) -> int:
    version = reg.resolve(ref)
    info = next(v for v in reg.versions() if v.version == version)
    model, _ = reg.load(version)
    out = {
        "name": reg.name,
        "version": version,
        "aliases": list(info.aliases),
        "uri": f"models:/{reg.name}/{version}",
        "run_id": info.run_id,
        "tags": info.tags,
        "features": model.features,
        "horizons": model.horizons,
        **{
            k: model.info.get(k)
            for k in ("model_type", "params", "label", "training", "data_hash", "code_version", "metrics")
        },
    }
    print(json.dumps(out, indent=2, default=str))
    return 0


def cmd_log_backtest(run: Path) -> int:
    """Log a finished run folder to MLflow and say where."""
    from bot.models.tracking import log_backtest_run

    rid, experiment = log_backtest_run(run)
    print(f"logged {run} as run {rid} in experiment {experiment}")
    return 0


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    setup_logging(a.quiet, a.verbose)

    def go() -> int:
        if a.command == "log-backtest":
            return cmd_log_backtest(a.run)
        reg = ModelRegistry.for_config(load_config(a.config, a.set))
        if a.command == "list":
            return cmd_list(reg)
        if a.command == "show":
            return cmd_show(reg, a.ref)
        if a.command == "promote":
            previous = reg.promote(a.version, a.reason)
            print(f"{reg.name}: champion is now version {a.version} (was {previous})")
            return 0
        rolled, restored = reg.rollback(a.reason)
        print(f"{reg.name}: rolled back version {rolled}; champion is now version {restored}")
        return 0

    return run_cli(go)
