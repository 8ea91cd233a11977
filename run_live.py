#!/usr/bin/env python
"""Trade a config live or on paper: the backtest's strategy class, a venue broker and live feeds."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from bot.cli import base_parser, run_cli, setup_logging

EXIT_VENUE = 4  # the venue refused us (authentication, permissions) or stayed unreachable


def main(argv: list[str] | None = None) -> int:
    parser = base_parser("run_live.py", __doc__)
    parser.add_argument("--max-bars", type=int, metavar="N", help="end cleanly after N closed bars")
    parser.add_argument(
        "--report",
        metavar="DIR",
        help="after the session, write a run folder + tear sheet from "
        "the journal to DIR (python -m bot.live report does it any time)",
    )
    args = parser.parse_args(argv)
    if args.max_bars is not None and args.max_bars < 1:
        parser.error("--max-bars must be at least 1")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: _request_stop(stop, signum))

    def go() -> int:
        setup_logging(args.quiet, args.verbose)
        from bot.configure import load_config
        from bot.errors import JournalUnavailableError, VenueError, without_credentials

        cfg = load_config(args.config, args.set)
        try:
            return _trade(cfg, args.max_bars, stop, args.report)
        except VenueError as e:  # auth/permission (fatal), or unreachable after every retry
            print(f"venue error: {without_credentials(str(e))}", file=sys.stderr)
            return EXIT_VENUE
        except JournalUnavailableError as e:  # the journal's database stayed unreachable after every retry
            print(f"journal error: {without_credentials(str(e))}", file=sys.stderr)
            return EXIT_VENUE

    return run_cli(go)


def _request_stop(stop: threading.Event, signum: int) -> None:
    if stop.is_set():
        raise KeyboardInterrupt  # a second signal: stop now
    print(f"{signal.Signals(signum).name}: finishing the current bar, then stopping", file=sys.stderr)
    stop.set()


def _trade(cfg, max_bars: int | None, stop: threading.Event, report: str | None = None) -> int:
    from bot.live.connect import check_capabilities, check_keys, connect
    from bot.live.journal import Journal, default_url
    from bot.live.session import run_session, warmup_bars
    from strategies import build_strategy

    check_capabilities(cfg)
    check_keys(cfg)
    if report is not None:
        from bot.runfolder import prepare_out_dir

        prepare_out_dir(Path(report))  # refuse a bad --report before trading, not after
    journal = Journal(cfg.live.state_db or default_url(cfg.name))
    try:
        journal.lock(cfg.name)  # one live session per journal and config name, before anything is written
        conn = connect(cfg, journal, stop, warmup_bars(cfg, build_strategy(cfg)))
        result = run_session(cfg, conn.venue, journal, wait=conn.wait, max_bars=max_bars, stop=stop)
        print(_summary(cfg, result, journal.url))
        if report is not None:
            from bot.live.report import write_journal_run

            print(f"run folder: {write_journal_run(cfg, journal, Path(report))}")
    finally:
        journal.close()
    return 0


def _summary(cfg, r, url: str) -> str:
    from bot.errors import without_credentials

    orders = r.ledger.orders_frame()
    counts = orders["status"].value_counts().to_dict() if len(orders) else {}
    held = ", ".join(f"{s} {q:g}" for s, q in sorted(r.positions.items())) or "flat"
    return "\n".join(
        [
            f"session {r.session_id} ({cfg.name}, broker.kind {cfg.broker.kind}): {r.bars} bars traded, "
            f"model {r.model_version or 'none'}",
            f"orders this session: {len(orders)} " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())),
            f"venue: equity {r.equity:.2f}, cash {r.cash:.2f}, positions {held}",
            f"journal: {without_credentials(url)}",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
