#!/usr/bin/env python
"""Run a walk-forward ML (or rule-based) backtest from a YAML config and write a run folder."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from bot.cli import base_parser, run_cli, setup_logging


def log_to_mlflow(run: Path, registry=None) -> None:
    """Log the finished run folder to MLflow; a tracking failure is a warning (the run folder is complete)."""
    from loguru import logger

    from bot.errors import UserError
    from bot.models.tracking import log_backtest_run, logging_failed

    try:
        run_id, experiment = log_backtest_run(run, registry)
    except UserError:
        raise
    except Exception as e:  # the tracking store is down or misconfigured: the backtest itself is done
        logger.warning(logging_failed("the run", e))
        return
    logger.info(f"logged to MLflow experiment {experiment!r}, run {run_id}")


def main(argv: list[str] | None = None) -> int:
    parser = base_parser("run_backtest.py", __doc__)
    parser.add_argument("--out", help="run folder (default: backtests/<UTC timestamp>-<name>/)")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="train the walk-forward models again: neither read nor write the prediction cache",
    )
    args = parser.parse_args(argv)

    def go() -> int:
        setup_logging(args.quiet, args.verbose)
        from bot.backtest import run_backtest, summary_table, write_run
        from bot.configure import load_config
        from bot.runfolder import prepare_out_dir

        cfg = load_config(args.config, args.set)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        out = Path(args.out) if args.out else Path("backtests") / f"{stamp}-{cfg.name}"
        prepare_out_dir(out)
        result = run_backtest(cfg, use_cache=not args.no_cache)
        path = write_run(result, out)
        print(summary_table(result, path))
        if cfg.registry.log_backtests:
            log_to_mlflow(path, cfg.registry)  # config.yaml holds masked URLs
        return 0

    return run_cli(go)


if __name__ == "__main__":
    sys.exit(main())
