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
from bot.progress import progress
from strategies.base import PortfolioStrategy, Strategy


def _progress_logger(total: int, bar=None):
    """Return a callback that logs the simulation's progress every 10 % of the bars (and moves ``bar``)."""
    state = {"done": 0, "next": max(total // 10, 1)}

    def tick(now: pd.Timestamp) -> None:
        state["done"] += 1
        if bar is not None:
            bar.update()
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


def simulate(
    cfg: Config,
    bars: Mapping[str, pd.DataFrame],
    signals: Mapping[str, pd.DataFrame],
    strategy: Strategy | PortfolioStrategy,
    fractional: bool,
) -> tuple[Ledger, pd.DatetimeIndex]:
    """Run the backtest; orders decided on a bar's close fill at the next bar's open.

    A Strategy decides per symbol (StrategyAdapter); a PortfolioStrategy sets target weights for all
    symbols at once (PortfolioAdapter). Both run on the same Cerebro, feeds and broker setup.
    With ``backtest.engine: vector`` a strategy with a vector form runs on bot/engine/vector.py instead
    (same Ledger, trade for trade); any other falls back to Backtrader with one info line saying why.
    """
    if cfg.backtest.engine == "vector":
        from bot.engine.vector import simulate_vector, unsupported_reason

        why = unsupported_reason(strategy)
        if why is None:
            assert isinstance(strategy, Strategy)  # unsupported_reason names every PortfolioStrategy
            return simulate_vector(cfg, bars, signals, strategy, fractional)
        logger.info(f"backtest.engine vector: {type(strategy).__name__} runs on Backtrader ({why})")
    return simulate_backtrader(cfg, bars, signals, strategy, fractional)


def simulate_backtrader(
    cfg: Config,
    bars: Mapping[str, pd.DataFrame],
    signals: Mapping[str, pd.DataFrame],
    strategy: Strategy | PortfolioStrategy,
    fractional: bool,
) -> tuple[Ledger, pd.DatetimeIndex]:
    """Run the backtest on Backtrader (the engine of record)."""
    calendar = union_calendar(bars)
    ledger = Ledger()
    cerebro = bt.Cerebro(stdstats=False, preload=True, runonce=True, quicknotify=False)
    for sym, df in bars.items():
        cerebro.adddata(make_feed(sym, df, signals[sym], cfg.data.timeframe), name=sym)
    configure_broker(cerebro.broker, cfg)
    index = {s: list(df.index) for s, df in bars.items()}  # Timestamps made once, not at every bar
    with progress(len(calendar), desc="simulating", unit="bar") as bar:
        ctx = EngineContext(
            strategy=strategy,
            config=cfg,
            index=index,
            ledger=ledger,
            fractional=fractional,
            progress=_progress_logger(len(calendar), bar),
            borrow_per_bar=_borrow_per_bar(cfg, calendar),
        )
        adapter = PortfolioAdapter if isinstance(strategy, PortfolioStrategy) else StrategyAdapter
        cerebro.addstrategy(adapter, ctx=ctx)
        cerebro.run(maxcpus=1)
    return ledger, calendar
