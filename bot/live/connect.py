"""Choose the venue once, from config: paper (replay or live data), Alpaca or a CCXT exchange.

Also checks, before anything is traded, that the venue can carry the configured exits (a
capability table, not branches deep in the code): trailing stops only on the paper venue,
Alpaca brackets only for equities, two-exit CCXT brackets only where an OCO order exists. Once
the venue client is built, :func:`check_tradable` asks the venue itself (Alpaca assets, the
exchange's market info) whether every symbol, exit and size rule can be traded.
Keys come only from the environment; a missing one is a config error naming the variable.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.config import Config
from bot.data.loading import load_data
from bot.data.schema import union_calendar
from bot.errors import ConfigError
from bot.instruments import any_crypto, is_crypto
from bot.live.bars import Wait
from bot.live.journal import Journal
from bot.ml.summary import bars_per_year
from bot.venues.base import VenueClient, timeframe_delta
from bot.venues.credentials import alpaca_credentials, ccxt_credentials
from bot.venues.retry import RetryPolicy
from strategies import build_strategy

if TYPE_CHECKING:
    from bot.live.paper_venue import BarSource
    from bot.live.replay import ReplayBars


@dataclass
class Connection:
    venue: VenueClient
    wait: Wait  # what "wait for the next poll" means: sleep until stopped, or advance a replay
    kind: str


def check_capabilities(cfg: Config) -> None:
    """Raise ConfigError if the venue cannot carry the configured exits."""
    r, kind = cfg.risk, cfg.broker.kind
    if kind == "paper":
        return
    if r.trailing_stop is not None:
        raise ConfigError(
            "risk.trailing_stop",
            f"broker.kind {kind} cannot attach a trailing stop to an entry; "
            "remove it, use risk.stop_loss, or trade on broker.kind paper",
        )
    exits = r.stop_loss is not None or r.take_profit is not None
    crypto = [s for s in cfg.data.symbols if is_crypto(s)]
    if kind == "alpaca" and exits and crypto:
        key = "risk.stop_loss" if r.stop_loss is not None else "risk.take_profit"
        raise ConfigError(key, f"Alpaca takes bracket orders for equities only, not for {', '.join(crypto)}")
    if kind == "ccxt" and r.stop_loss is not None and r.take_profit is not None:
        from bot.venues.ccxt_venue import exchange_has_oco  # lazy: ccxt SDK

        if not exchange_has_oco(cfg.broker.ccxt.exchange):
            raise ConfigError(
                "risk.take_profit",
                f"{cfg.broker.ccxt.exchange} has no OCO order for a "
                "stop-loss plus take-profit (no OCO order-list endpoint)",
            )


def check_tradable(cfg: Config, venue: object) -> None:
    """Ask the venue (if it can tell) whether it trades the symbols, exits and sizes of ``cfg``,
    and lets the strategy sell short if it may (``Strategy.sells_short``)."""

    check = getattr(venue, "check_tradable", None)
    if check is None:
        return
    fractional = cfg.broker.fractional
    if fractional is None:  # the session's default (bot/live/session.py)
        fractional = any_crypto(cfg.data.symbols)
    check(
        list(cfg.data.symbols),
        stop_loss=cfg.risk.stop_loss is not None,
        take_profit=cfg.risk.take_profit is not None,
        fractional=fractional,
        shorts=build_strategy(cfg).sells_short(),
    )


def check_keys(cfg: Config, env: Mapping[str, str] | None = None) -> None:
    """Raise ConfigError naming the first venue key missing from the environment."""

    env = os.environ if env is None else env
    kind, data = cfg.broker.kind, cfg.live.paper_data
    if kind == "alpaca" or (kind == "paper" and data == "alpaca"):
        alpaca_credentials(env)
    elif kind == "ccxt":
        ccxt_credentials(env)


def connect(
    cfg: Config, journal: Journal, stop: threading.Event, warmup: int, env: Mapping[str, str] | None = None
) -> Connection:
    """Build the configured venue client."""
    env = os.environ if env is None else env
    check_capabilities(cfg)
    sleep_until_stopped: Wait = lambda s: not stop.wait(s)  # noqa: E731 - False once stopped
    kind = cfg.broker.kind
    if kind in ("alpaca", "ccxt"):
        venue = _alpaca(cfg, env) if kind == "alpaca" else _ccxt(cfg, env, keys=True)
        check_tradable(cfg, venue)
        return Connection(venue, sleep_until_stopped, kind)
    return _paper(cfg, journal, stop, warmup, env, sleep_until_stopped)


def _alpaca(cfg: Config, env: Mapping[str, str]) -> VenueClient:
    from bot.venues.alpaca import AlpacaVenue  # lazy: alpaca SDK

    a = cfg.broker.alpaca
    return AlpacaVenue(
        alpaca_credentials(env),
        paper=a.paper,
        trading_url=a.trading_url,
        data_url=a.data_url,
        feed=a.feed,
        timeout=cfg.broker.venue.timeout,
        retry=_retry(cfg),
    )


def _ccxt(cfg: Config, env: Mapping[str, str], keys: bool) -> VenueClient:
    from bot.venues.ccxt_venue import CcxtVenue  # lazy: ccxt SDK

    c = cfg.broker.ccxt
    creds = ccxt_credentials(env) if keys else None
    return CcxtVenue(
        c.exchange,
        creds,
        symbols=list(cfg.data.symbols),
        sandbox=c.sandbox,
        api_url=c.api_url,
        timeout=cfg.broker.venue.timeout,
        retry=_retry(cfg),
    )


def _retry(cfg: Config) -> RetryPolicy:
    """Return the venue clients' retry policy from ``broker.venue``."""
    v = cfg.broker.venue
    return RetryPolicy(
        attempts=v.attempts,
        base_delay=v.base_delay,
        max_delay=v.max_delay,
        lookup_tries=v.lookup_tries,
        lookup_interval=v.lookup_interval,
    )


def _paper(
    cfg: Config, journal: Journal, stop: threading.Event, warmup: int, env: Mapping[str, str], sleep_until_stopped: Wait
) -> Connection:
    from bot.live.paper_venue import STATE_KEY, PaperVenue

    source: BarSource
    calendar = None
    wait = sleep_until_stopped
    if cfg.live.paper_data == "replay":
        replay, wait = _replay(cfg, journal, warmup, stop)
        calendar = union_calendar(replay.bars)  # the backtest's calendar of these bars
        source = replay
    elif cfg.live.paper_data == "alpaca":
        source = _alpaca(cfg, env)
    else:
        source = _ccxt(cfg, env, keys=False)  # public market data needs no keys
    currency = "USDT" if all(s.endswith("/USDT") for s in cfg.data.symbols) else "USD"
    venue = PaperVenue(
        source,
        cfg.data.symbols,
        cfg.data.timeframe,
        cash=cfg.broker.cash,
        commission=cfg.broker.commission,
        slippage=cfg.broker.slippage,
        journal=journal,
        currency=currency,
        shorts=build_strategy(cfg).sells_short(),
        borrow_per_bar=borrow_per_bar(cfg, calendar),
    )
    assert journal.get_state(STATE_KEY) is not None
    return Connection(venue, wait, "paper")


def borrow_per_bar(cfg: Config, calendar=None) -> float:
    """Return ``broker.short_fee`` (annual) per bar, as backtests charge it: over the replayed bars'
    calendar (bot.ml.summary.bars_per_year), or for live data 365 (crypto pairs) or 252 days a year
    times the bars in a day of ``data.timeframe``."""
    import pandas as pd

    fee = cfg.broker.short_fee
    if not fee:
        return 0.0
    if calendar is not None:
        return fee / bars_per_year(calendar)
    days = 365 if any_crypto(cfg.data.symbols) else 252
    step = timeframe_delta(cfg.data.timeframe)
    per_day = pd.Timedelta(days=1) / step if step < pd.Timedelta(days=1) else 1
    return fee / int(round(days * per_day))


def _replay(cfg: Config, journal: Journal, warmup: int, stop: threading.Event) -> tuple[ReplayBars, Wait]:
    import pandas as pd

    from bot.live.paper_venue import STATE_KEY
    from bot.live.replay import ReplayBars

    bars, _ = load_data(cfg)
    source = ReplayBars(bars, cfg.data.timeframe, warmup=min(warmup, min(len(df) for df in bars.values())))
    saved = journal.get_state(STATE_KEY)
    if saved and saved.get("processed"):  # resume where the previous run stopped
        last = max(pd.Timestamp(t) for t in saved["processed"].values())
        source.seek(last + timeframe_delta(cfg.data.timeframe))

    def advance(seconds: float) -> bool:
        return not stop.is_set() and source.advance()

    return source, advance
