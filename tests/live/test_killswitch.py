"""The kill switch: risk.max_drawdown_halt and risk.max_daily_loss stop new entries (and, with
risk.flatten_on_halt, close positions) in backtests and live sessions alike; a live session
seeds it from its journal so a restart does not reset the peak or the day."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.backtest import run_backtest
from bot.config import RiskConfig
from bot.configure import parse_config
from bot.live.journal import Journal
from bot.live.session import _kill_switch
from bot.risk.killswitch import KillSwitch, _day
from bot.venues.types import Account

T0 = pd.Timestamp("2024-01-02 10:00", tz="UTC")


def test_drawdown_halts_until_equity_recovers() -> None:
    k = KillSwitch(RiskConfig(max_drawdown_halt=0.1), 100.0)
    assert not k.update(T0, 110.0)
    assert k.update(T0 + pd.Timedelta("1h"), 98.0)  # 10.9 % below the 110 peak
    assert not k.update(T0 + pd.Timedelta("2h"), 100.0)


def test_daily_loss_halts_for_the_rest_of_the_utc_day_only() -> None:
    k = KillSwitch(RiskConfig(max_daily_loss=0.05), 100.0)
    assert not k.update(T0, 100.0)
    assert k.update(T0 + pd.Timedelta("2h"), 94.0)  # -6 % since the day opened at 100
    assert k.update(T0 + pd.Timedelta("3h"), 99.0)  # recovered, but the day stays halted
    assert not k.update(T0 + pd.Timedelta("1D"), 95.0)  # a new day opens at the last mark (99)
    assert k.update(T0 + pd.Timedelta("1D2h"), 94.0)


def test_no_limits_never_halt() -> None:
    k = KillSwitch(RiskConfig(), 100.0)
    assert not any(k.update(T0 + pd.Timedelta(hours=i), 100.0 - 9 * i) for i in range(10))


def test_the_day_reused_between_bars_is_the_day_computed_afresh() -> None:
    """update() computes the UTC day once per day: each bar's day is _day(bar), tz and unit too."""
    # New York evening to morning: crosses UTC midnight
    ny = pd.date_range("2024-03-08 17:00", periods=12, freq="2h", tz="America/New_York")
    stamps = [
        *ny,
        *ny.tz_convert("UTC"),
        *ny.tz_localize(None),
        pd.Timestamp("1969-12-31 23:00"),
        pd.Timestamp("1970-01-01 01:00"),
        pd.Timestamp("2024-03-09 01:00", tz="UTC").as_unit("ns"),
        pd.Timestamp("2024-03-09 02:00", tz="UTC").as_unit("s"),
        pd.Timestamp("2024-03-09 03:00").as_unit("s"),
    ]
    k = KillSwitch(RiskConfig(max_daily_loss=0.05), 100.0)
    for t in stamps:
        got, want = k._today(t), _day(t)
        assert (got, got.tz, got.unit) == (want, want.tz, want.unit), t


def test_live_session_seeds_peak_and_day_from_the_journal(tmp_path) -> None:
    journal = Journal(f"sqlite:///{tmp_path / 'j.db'}")
    for t, eq in [(T0 - pd.Timedelta("1D"), 120.0), (T0, 100.0), (T0 + pd.Timedelta("1h"), 97.0)]:
        journal.record_equity(t, eq, eq)

    class Venue:
        def account(self) -> Account:
            return Account(cash=97.0, equity=97.0, currency="USD")

    cfg = parse_config(dict(name="k", data=dict(symbols=["A"]), risk=dict(max_drawdown_halt=0.15, max_daily_loss=0.2)))
    k = _kill_switch(cfg, journal, Venue())
    assert (k.peak, k.day_open) == (120.0, 120.0)
    assert k.update(T0 + pd.Timedelta("2h"), 101.0)  # 15.8 % below the peak of an earlier run
    journal.close()


def _backtest(**risk):
    cfg = parse_config(
        dict(
            name="halt",
            seed=5,
            data=dict(source="sample", symbols=["HA", "HB"], start="2020-01-01", end="2021-06-30"),
            strategy=dict(name="sma_cross", params=dict(fast=3, slow=10)),
            risk=dict(sizing="fixed_fraction", fraction=0.5, max_position=0.5, **risk),
        )
    )
    return run_backtest(cfg)


def test_daily_loss_blocks_entries_in_the_adapter() -> None:
    free = _backtest()
    limited = _backtest(max_daily_loss=0.004)
    eq = limited.ledger.equity_frame().set_index("timestamp")["equity"]
    day_open = eq.shift(1).fillna(limited.config.broker.cash)  # daily bars: the day opens at the last close
    halted_days = set(eq.index[(eq / day_open - 1.0) <= -0.004])
    entries = limited.ledger.orders_frame().query("reason == 'entry'")
    assert halted_days and not set(entries["created"]) & halted_days
    assert len(entries) < len(free.ledger.orders_frame().query("reason == 'entry'"))


def test_flatten_on_halt_closes_positions() -> None:
    trades = _backtest(max_daily_loss=0.004, flatten_on_halt=True).ledger.trades_frame()
    assert (trades["exit_reason"] == "halt").any()  # a day's loss happens while holding: close out


def test_flatten_is_off_by_default() -> None:
    trades = _backtest(max_daily_loss=0.004).ledger.trades_frame()
    assert not (trades["exit_reason"] == "halt").any()


@pytest.mark.parametrize("kind", ["alpaca", "ccxt"])
def test_venues_without_trailing_stops_reject_the_config(kind) -> None:
    from bot.errors import ConfigError
    from bot.live.connect import check_capabilities

    cfg = parse_config(dict(name="t", data=dict(symbols=["A"]), broker=dict(kind=kind), risk=dict(trailing_stop=0.05)))
    with pytest.raises(ConfigError, match="risk.trailing_stop"):
        check_capabilities(cfg)
    check_capabilities(cfg.model_copy(update={"broker": cfg.broker.model_copy(update={"kind": "paper"})}))


def test_two_exits_need_an_oco_exchange() -> None:
    from bot.errors import ConfigError
    from bot.live.connect import check_capabilities

    cfg = parse_config(
        dict(
            name="t",
            data=dict(symbols=["BTC/USD"]),
            broker=dict(kind="ccxt", ccxt=dict(exchange="kraken")),
            risk=dict(stop_loss=0.05, take_profit=0.1),
        )
    )
    with pytest.raises(ConfigError, match="risk.take_profit: kraken has no OCO order"):
        check_capabilities(cfg)
    alpaca = cfg.model_copy(update={"broker": cfg.broker.model_copy(update={"kind": "alpaca"})})
    with pytest.raises(ConfigError, match="Alpaca takes bracket orders for equities only"):
        check_capabilities(alpaca)
