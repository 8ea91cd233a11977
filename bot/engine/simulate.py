"""Build a Cerebro from bars + signal frames, run the adapter, return the filled Ledger."""

from __future__ import annotations

from collections.abc import Mapping

import backtrader as bt
import pandas as pd
from loguru import logger

from bot.config import Config
from bot.data.schema import union_calendar
from bot.engine.adapter import EngineContext, StrategyAdapter
from bot.engine.feeds import make_feed
from bot.engine.portfolio import PortfolioAdapter
from bot.ledger import Ledger
from bot.ml.summary import bars_per_year
from strategies.base import PortfolioStrategy, Strategy


def _progress_logger(total: int):
    """Return a callback that logs the simulation's progress every 10 % of the bars."""
    state = {"done": 0, "next": max(total // 10, 1)}

    def tick(now: pd.Timestamp) -> None:
        state["done"] += 1
        if state["done"] >= state["next"] or state["done"] == total:
            logger.info(f"simulated {state['done']}/{total} bars (up to {now})")
            state["next"] += max(total // 10, 1)

    return tick


def configure_broker(broker, cfg: Config) -> None:
    """Set cash, commission and slippage on a BackBroker (market orders fill at the next open)."""
    broker.setcash(cfg.broker.cash)
    broker.setcommission(commission=cfg.broker.commission)
    broker.set_slippage_perc(cfg.broker.slippage, slip_open=True, slip_limit=True, slip_match=True, slip_out=False)
    broker.set_coc(False)
    broker.set_shortcash(True)  # (the default) a short sale credits cash; the short is valued negative


def _borrow_per_bar(cfg: Config, calendar: pd.DatetimeIndex) -> float:
    """Return ``broker.short_fee`` (annual) per bar: 252 or 365 days a year times the bars in a day."""

    return cfg.broker.short_fee / bars_per_year(calendar) if cfg.broker.short_fee else 0.0


def simulate(cfg: Config, bars: Mapping[str, pd.DataFrame], signals: Mapping[str, pd.DataFrame],
             strategy: Strategy | PortfolioStrategy, fractional: bool) -> tuple[Ledger, pd.DatetimeIndex]:
    """Run the backtest; orders decided on a bar's close fill at the next bar's open.

    A Strategy decides per symbol (StrategyAdapter); a PortfolioStrategy sets target weights for all
    symbols at once (PortfolioAdapter). Both run on the same Cerebro, feeds and broker setup.
    """
    calendar = union_calendar(bars)
    ledger = Ledger()
    cerebro = bt.Cerebro(stdstats=False, preload=True, runonce=True, quicknotify=False)
    for sym, df in bars.items():
        cerebro.adddata(make_feed(sym, df, signals[sym], cfg.data.timeframe), name=sym)
    configure_broker(cerebro.broker, cfg)
    ctx = EngineContext(strategy=strategy, config=cfg, index={s: df.index for s, df in bars.items()},
                        ledger=ledger, fractional=fractional, progress=_progress_logger(len(calendar)),
                        borrow_per_bar=_borrow_per_bar(cfg, calendar))
    adapter = PortfolioAdapter if isinstance(strategy, PortfolioStrategy) else StrategyAdapter
    cerebro.addstrategy(adapter, ctx=ctx)
    cerebro.run(maxcpus=1)
    return ledger, calendar
