#!/usr/bin/env python
"""Run a walk-forward ML (or rule-based) backtest from a YAML config and write a run folder."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from bot.cli import base_parser, run_cli, setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = base_parser("run_backtest.py", __doc__)
    parser.add_argument("--out", help="run folder (default: backtests/<UTC timestamp>-<name>/)")
    args = parser.parse_args(argv)

    def go() -> int:
        setup_logging(args.quiet, args.verbose)
        from bot.backtest import run_backtest, summary_table, write_run
        from bot.config import load_config
        from bot.runfolder import prepare_out_dir

        cfg = load_config(args.config, args.set)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        out = Path(args.out) if args.out else Path("backtests") / f"{stamp}-{cfg.name}"
        prepare_out_dir(out)
        result = run_backtest(cfg)
        path = write_run(result, out)
        print(summary_table(result, path))
        return 0

    return run_cli(go)


if __name__ == "__main__":
    sys.exit(main())
