"""Serve a fake Alpaca or Binance on 127.0.0.1 for trying run_live.py without an account.

    python -m tests.live.serve_fake alpaca --port 8765 --symbols SPY,QQQ,IWM --timeframe 1d
    python -m tests.live.serve_fake binance --port 8766 --symbols BTC/USDT,ETH/USDT --timeframe 1h

Bars are the synthetic sample data (``bot.data``, deterministic from ``--seed``); ``--warmup``
bars are visible at start and one more bar closes every ``--every`` seconds. The fake's keys are
printed: export them as the venue's environment variables.
"""

from __future__ import annotations

import argparse
import threading
import time

from bot.data import load_bars
from tests.fakes.alpaca import FakeAlpaca
from tests.fakes.binance import FakeBinance

_ALPACA_TF = {"m": "Min", "h": "Hour", "d": "Day"}


def build(venue: str, symbols: list[str], timeframe: str, warmup: int, seed: int, cash: float):
    """Return a started-ready fake venue over sample bars."""
    bars = load_bars("sample", symbols, timeframe=timeframe, seed=seed)
    if venue == "alpaca":
        tf = f"{timeframe[:-1]}{_ALPACA_TF[timeframe[-1]]}"
        return FakeAlpaca(bars, timeframe=tf, warmup=warmup, cash=cash)
    quote = symbols[0].split("/")[1]
    return FakeBinance(bars, interval=timeframe, warmup=warmup, balances={quote: cash}, step=0.0001)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tests.live.serve_fake",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("venue", choices=["alpaca", "binance"])
    p.add_argument("--port", type=int, default=0, help="0: any free port")
    p.add_argument("--symbols", default=None)
    p.add_argument("--timeframe", default=None)
    p.add_argument("--warmup", type=int, default=600)
    p.add_argument("--every", type=float, default=2.0, help="seconds between bar closes")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--cash", type=float, default=100_000.0)
    a = p.parse_args(argv)
    symbols = (a.symbols or ("SPY,QQQ,IWM" if a.venue == "alpaca" else "BTC/USDT,ETH/USDT")).split(",")
    timeframe = a.timeframe or ("1d" if a.venue == "alpaca" else "1h")
    fake = build(a.venue, symbols, timeframe, a.warmup, a.seed, a.cash)
    fake.start()
    if a.port:  # rebind on the requested port
        fake.stop()
        _bind(fake, a.port)
    keys = ("ALPACA_API_KEY", "ALPACA_SECRET_KEY") if a.venue == "alpaca" else ("CCXT_API_KEY", "CCXT_SECRET")
    print(f"fake {a.venue} at {fake.base_url}  ({', '.join(symbols)}, {timeframe})", flush=True)
    print(f"export {keys[0]}={fake.key} {keys[1]}={fake.secret}", flush=True)
    stop = threading.Event()
    try:
        while fake.engine.remaining_bars() > 0 and not stop.wait(a.every):
            print(f"bar closed, venue clock {fake.advance()}", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
    return 0


def _bind(fake, port: int) -> None:
    from tests.fakes import server

    class _Fixed(server._Server):
        def __init__(self, app):
            server.ThreadingHTTPServer.__init__(self, ("127.0.0.1", port), server._Handler)
            self.app = app

    fake._httpd = _Fixed(fake)
    threading.Thread(target=fake._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


if __name__ == "__main__":
    raise SystemExit(main())
