"""Live sessions against the real venues: Alpaca paper, the Binance spot testnet, Binance public
data for a dry run. Marked ``network`` (deselected by default; ``pytest -m network``) and skipped
unless the keys are set. They reconcile and warm up but place no order, except the dry run, whose
orders are simulated."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from bot.configure import load_config
from bot.live.bars import BarPoller
from bot.live.connect import connect
from bot.live.journal import Journal
from bot.live.reconcile import reconcile
from bot.live.router import OrderRouter
from bot.live.session import run_session
from strategies import build_strategy

pytestmark = pytest.mark.network


def _need(*names: str) -> None:
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.skip(f"set {', '.join(missing)} to run against the real venue")


def _read_only_start(path: str, tmp_path) -> None:
    cfg = load_config(path, [f"live.state_db=sqlite:///{tmp_path / 'j.db'}"])
    journal = Journal(cfg.live.state_db)
    conn = connect(cfg, journal, threading.Event(), 10)
    report = reconcile(conn.venue, journal, OrderRouter(conn.venue, journal), last_bar=None)
    assert isinstance(report.positions, dict)
    poller = BarPoller(
        conn.venue, cfg.data.symbols, cfg.data.timeframe, build_strategy(cfg), wait=conn.wait, poll_seconds=1
    )
    history = poller.warm_up(10)
    clock = conn.venue.clock()
    for df in history.values():
        assert 0 < len(df) <= 10 and df.index[-1] < clock


def test_alpaca_paper_start_up(tmp_path) -> None:
    _need("ALPACA_API_KEY", "ALPACA_SECRET_KEY")
    _read_only_start("config/live/alpaca_paper.yaml", tmp_path)


def test_binance_testnet_start_up(tmp_path) -> None:
    _need("CCXT_API_KEY", "CCXT_SECRET")
    _read_only_start("config/live/binance_testnet.yaml", tmp_path)


def test_dry_run_trades_one_minute_bar_on_public_data(tmp_path) -> None:
    try:
        socket.getaddrinfo("api.binance.com", 443)
    except OSError:
        pytest.skip("no internet (api.binance.com does not resolve)")
    cfg = load_config(
        "config/live/dry_run.yaml",
        [
            f"live.state_db=sqlite:///{tmp_path / 'j.db'}",
            "data.timeframe=1m",
            "data.symbols=[BTC/USDT]",
            "strategy.name=sma_cross",
            "strategy.params={fast: 3, slow: 8}",
            "risk.sizing=fixed_fraction",
            "live.poll_seconds=5",
        ],
    )
    journal = Journal(cfg.live.state_db)
    stop = threading.Event()
    conn = connect(cfg, journal, stop, 10)
    result = run_session(cfg, conn.venue, journal, wait=conn.wait, max_bars=1, stop=stop)
    assert result.bars == 1 and len(journal.signals()) == 1
