"""``python -m bot.live report --config CFG [--out DIR]``: a run folder and tear sheet from the journal.

``python -m bot.live audit --config CFG [--positions fills|snapshot]``: compare the journal with the
venue (:mod:`bot.live.audit`); one line per difference and a summary; exit 0 clean, 1 on a
difference, 2 on bad input, 4 if the venue cannot be reached.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.cli import base_parser, run_cli, setup_logging
from bot.configure import load_config
from bot.errors import VenueError, without_credentials


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "audit":
        return audit_main(argv[1:])
    if not argv or argv[0] != "report":
        print(
            "usage: python -m bot.live report --config CFG [--set K=V] [--out DIR]\n"
            "       python -m bot.live audit --config CFG [--set K=V] [--positions fills|snapshot]",
            file=sys.stderr,
        )
        return 2
    parser = base_parser("python -m bot.live report", "Write a run folder and tear sheet from a live journal.")
    parser.add_argument("--out", help="run folder (default: live_runs/<UTC timestamp>-<name>/)")
    args = parser.parse_args(argv[1:])

    def go() -> int:
        setup_logging(args.quiet, args.verbose)
        from bot.live.report import default_out, open_journal, write_journal_run  # lazy: backtrader

        cfg = load_config(args.config, args.set)
        journal = open_journal(cfg)
        try:
            path = write_journal_run(cfg, journal, Path(args.out) if args.out else default_out(cfg))
        finally:
            journal.close()
        print(f"run folder: {path}\ntear sheet: {path / 'tearsheet.html'}")
        return 0

    return run_cli(go)


def audit_main(argv: list[str]) -> int:
    """Run ``python -m bot.live audit``."""
    parser = base_parser("python -m bot.live audit", "Compare a live journal with its venue: orders, fills, positions.")
    parser.add_argument(
        "--positions",
        choices=["fills", "snapshot"],
        default="fills",
        help="fills: venue positions must equal the journaled fills (the bot is the only trader "
        "of its symbols); snapshot: only the last journaled snapshot",
    )
    args = parser.parse_args(argv)

    def go() -> int:
        setup_logging(args.quiet, args.verbose)
        import threading

        from bot.live.audit import audit  # lazy: backtrader, SDKs
        from bot.live.connect import connect  # lazy: backtrader, SDKs
        from bot.live.report import open_journal  # lazy: backtrader, SDKs

        cfg = load_config(args.config, args.set)
        journal = open_journal(cfg)
        try:
            report = audit(connect(cfg, journal, threading.Event(), warmup=1).venue, journal, args.positions)
        except VenueError as e:
            print(f"venue error: {without_credentials(str(e))}", file=sys.stderr)
            return 4
        finally:
            journal.close()
        for d in report.differences:
            print(d.line())
        print(report.summary())
        return 0 if report.clean else 1

    return run_cli(go)


if __name__ == "__main__":
    sys.exit(main())
