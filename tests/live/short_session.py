"""Run one live session of the short-selling test strategy on Alpaca (the subprocess the SIGKILL
restart test of ``tests/live/test_shorts.py`` kills): ``python -m tests.live.short_session CONFIG``.

Like run_live.py, but with :class:`tests.live.test_shorts.ShortAt` (``PARAMS``) instead of the
strategy the config names; SIGTERM ends it after the current bar.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from bot.configure import load_config
from bot.live.journal import Journal
from bot.live.session import run_session
from bot.venues.alpaca import AlpacaVenue
from bot.venues.credentials import alpaca_credentials
from tests.live.test_shorts import PARAMS, POLICY, ShortAt


def main(path: str) -> int:
    cfg = load_config(path, [])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    journal = Journal(cfg.live.state_db)
    journal.lock(cfg.name)
    a = cfg.broker.alpaca
    venue = AlpacaVenue(
        alpaca_credentials(os.environ), trading_url=a.trading_url, data_url=a.data_url, timeout=10, retry=POLICY
    )
    run_session(
        cfg,
        venue,
        journal,
        wait=lambda s: not stop.wait(s),
        stop=stop,
        strategy=ShortAt(ShortAt.Params(**PARAMS), cfg.risk),
    )
    journal.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
