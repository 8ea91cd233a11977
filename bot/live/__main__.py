"""``python -m bot.live report --config CFG [--out DIR]``: a run folder and tear sheet from the journal."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.cli import base_parser, run_cli, setup_logging


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "report":
        print("usage: python -m bot.live report --config CFG [--set K=V] [--out DIR]", file=sys.stderr)
        return 2
    parser = base_parser("python -m bot.live report", "Write a run folder and tear sheet from a live journal.")
    parser.add_argument("--out", help="run folder (default: live_runs/<UTC timestamp>-<name>/)")
    args = parser.parse_args(argv[1:])

    def go() -> int:
        setup_logging(args.quiet, args.verbose)
        from bot.config import load_config
        from bot.live.report import default_out, open_journal, write_journal_run

        cfg = load_config(args.config, args.set)
        journal = open_journal(cfg)
        try:
            path = write_journal_run(cfg, journal, Path(args.out) if args.out else default_out(cfg))
        finally:
            journal.close()
        print(f"run folder: {path}\ntear sheet: {path / 'tearsheet.html'}")
        return 0

    return run_cli(go)


if __name__ == "__main__":
    sys.exit(main())
