"""Assemble the Cerebro of a live session: live feeds, the live broker, the backtest's adapter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import backtrader as bt

from bot.engine.adapter import EngineContext, StrategyAdapter
from bot.engine.live_broker import LiveBroker, StepEnd
from bot.engine.live_feed import make_live_feed


def live_cerebro(
    symbols: Sequence[str],
    poller,
    columns: tuple[str, ...],
    timeframe: str,
    index: Mapping[str, list],
    broker: LiveBroker,
    ctx: EngineContext,
    adapter: type = StrategyAdapter,
    **adapter_params,
) -> bt.Cerebro:
    """Return a Cerebro that trades ``ctx.strategy`` bar by bar as ``poller`` releases closed bars."""
    cerebro = bt.Cerebro(stdstats=False, preload=False, runonce=False, quicknotify=False)
    for sym in symbols:
        cerebro.adddata(make_live_feed(sym, poller, columns, timeframe, index[sym]), name=sym)
    cerebro.setbroker(broker)
    cerebro.addstrategy(adapter, ctx=ctx, **adapter_params)
    cerebro.addanalyzer(StepEnd)
    return cerebro
