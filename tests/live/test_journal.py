"""The journal: what is written survives a new process, fills are stored once, times are UTC."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.live.journal import Journal, OrderRow, default_url
from bot.venues.types import Fill

T = pd.Timestamp("2024-03-01 10:00", tz="UTC")


def fill(trade_id: str, cid: str = "mp-1", qty: float = 1.0) -> Fill:
    return Fill(cid, "v1", trade_id, "BTC/USDT", "buy", qty, 100.0, 0.001, "BTC", T)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    """The default SQLite file, and a real PostgreSQL database (the journal takes any SQLAlchemy URL)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'run.db'}"
    return request.getfixturevalue("postgres_url")


def test_everything_survives_reopening(url) -> None:
    j = Journal(url)
    sid = j.start_session("run", "paper", T)
    j.record_order(OrderRow("mp-1", "BTC/USDT", "buy", 1.5, "market", "pending", "entry", bar_time=T,
                            model_version="m1", take_profit=110.0, session_id=sid))
    j.update_order("mp-1", status="new", venue_id="v1", updated=T + pd.Timedelta("1min"))
    assert j.add_fill(fill("t1"), sid) and not j.add_fill(fill("t1"), sid)
    j.snapshot_positions(T, {"BTC/USDT": 1.499})
    j.record_equity(T, 1000.0, 850.0, sid)
    j.record_signal(T, "BTC/USDT", {"prob_up": 0.61, "payoff": float("nan")}, "m1", sid)
    j.put_state("armed", {"BTC/USDT": "mp-1"})
    j.close()

    j = Journal(url)  # a new process
    row = j.get_order("mp-1")
    assert (row.status, row.venue_id, row.bar_time, row.model_version, row.take_profit) == ("new", "v1", T, "m1", 110.0)
    assert row.updated == T + pd.Timedelta("1min") and str(row.bar_time.tz) == "UTC"
    assert [f.trade_id for f in j.fills()] == ["t1"] and j.last_fill_time() == T
    assert j.last_positions() == {"BTC/USDT": 1.499}
    assert j.equity()[["equity", "cash"]].values.tolist() == [[1000.0, 850.0]]
    sig = j.signals().iloc[0]
    assert sig["prob_up"] == 0.61 and pd.isna(sig["payoff"])
    assert j.get_state("armed") == {"BTC/USDT": "mp-1"}
    assert [s["status"] for s in j.sessions()] == ["running"]
    assert j.start_session("run", "paper", T) == 2
    assert [s["status"] for s in j.sessions()] == ["crashed", "running"]  # the first never ended


def test_a_journaled_order_is_never_overwritten_by_a_second_record(url) -> None:
    j = Journal(url)
    j.record_order(OrderRow("mp-1", "A", "buy", 1.0, "market", "filled", "entry"))
    j.record_order(OrderRow("mp-1", "A", "buy", 2.0, "market", "pending", "entry"))
    assert (j.get_order("mp-1").qty, j.get_order("mp-1").status) == (1.0, "filled")


def test_flat_book_is_a_snapshot_too(url) -> None:
    j = Journal(url)
    assert j.last_positions() is None
    j.snapshot_positions(T, {"A": 2.0})
    j.snapshot_positions(T + pd.Timedelta("1h"), {})
    assert j.last_positions() == {}


def test_default_url_is_a_sqlite_file_under_state() -> None:
    assert default_url("alpaca-paper") == "sqlite:///state/alpaca-paper.db"


@pytest.mark.parametrize("bad", ["postgresql+psycopg://trader:hunter2@127.0.0.1:1/journal", "nonsense:///x", "::"])
def test_a_journal_url_that_cannot_be_opened_is_one_config_error(bad) -> None:
    from bot.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        Journal(bad)
    text = str(e.value)
    assert text.startswith("live.state_db: cannot open the journal at ") and "\n" not in text
    assert "hunter2" not in text
