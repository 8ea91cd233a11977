"""The journal: what is written survives a new process, fills are stored once, times are UTC."""

from __future__ import annotations

from pathlib import Path

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
    j.record_order(
        OrderRow(
            "mp-1",
            "BTC/USDT",
            "buy",
            1.5,
            "market",
            "pending",
            "entry",
            bar_time=T,
            model_version="m1",
            take_profit=110.0,
            session_id=sid,
        )
    )
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


# ---- dropped connections (PostgreSQL) ------------------------------------------------------------
def terminate_backends(url: str) -> int:
    """From a second connection, end every other server connection to the journal's database."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as c:  # pg_terminate_backend(pid, timeout): returns once the backend is gone
        n = c.scalar(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) "
                "FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        )
    engine.dispose()
    return int(n)


def test_writes_and_reads_survive_the_server_dropping_idle_connections(postgres_url) -> None:
    j = Journal(postgres_url)
    j.put_state("before", 1)  # leaves an idle pooled connection
    assert terminate_backends(postgres_url) == 1
    j.record_order(OrderRow("mp-1", "A", "buy", 1.0, "market", "pending", "entry"))
    assert j.get_state("before") == 1 and j.get_order("mp-1").status == "pending"
    j.close()


def drop_at_begin(journal: Journal, url: str, times: int) -> list[int]:
    """End the journal's connection as each of its next ``times`` transactions begins (after the
    pool's ping)."""
    from sqlalchemy import event

    dropped: list[int] = []

    def drop(_conn) -> None:
        if len(dropped) < times:
            dropped.append(terminate_backends(url))

    event.listen(journal._engine, "begin", drop)
    return dropped


def test_a_connection_dropped_inside_a_transaction_is_retried(postgres_url) -> None:
    j = Journal(postgres_url)
    dropped = drop_at_begin(j, postgres_url, times=2)
    j.record_order(OrderRow("mp-1", "A", "buy", 1.0, "market", "pending", "entry"))  # third try works
    assert dropped == [1, 1]
    j.record_order(OrderRow("mp-2", "A", "buy", 1.0, "market", "pending", "entry"))
    assert [r.client_id for r in j.orders()] == ["mp-1", "mp-2"]
    j.close()


def test_a_database_that_stays_unreachable_is_one_clear_error(postgres_url) -> None:
    from bot.errors import JournalUnavailableError

    url = postgres_url.replace("postgres:@", "postgres:hunter2@")  # the test server trusts any password
    j = Journal(url)
    dropped = drop_at_begin(j, url, times=99)
    with pytest.raises(JournalUnavailableError) as e:
        j.get_state("armed")
    assert len(dropped) == 3
    text = str(e.value)
    assert (
        text.startswith("journal postgresql+psycopg://***@/")
        and "get_state: the database stayed unreachable after 3 tries: " in text
        and "hunter2" not in text
    )
    j.close()


# ---- schema versions ---------------------------------------------------------------------
def v1_tables(url: str, drop: str | None = None) -> list[str]:
    """Return the DDL of the journal as it was at schema version 1 (before versioning), raw SQL,
    less the column ``drop`` ("table.column")."""
    serial = "INTEGER" if url.startswith("sqlite") else "SERIAL"
    tables = {
        "sessions": [
            f"id {serial} PRIMARY KEY",
            "name VARCHAR(64) NOT NULL",
            "venue VARCHAR(32) NOT NULL",
            "started TIMESTAMP",
            "ended TIMESTAMP",
            "status VARCHAR(16) NOT NULL",
            "model_version VARCHAR(64)",
        ],
        "orders": [
            "client_id VARCHAR(64) PRIMARY KEY",
            "session_id INTEGER",
            "venue_id VARCHAR(64)",
            "symbol VARCHAR(32) NOT NULL",
            "side VARCHAR(4) NOT NULL",
            "qty FLOAT NOT NULL",
            "type VARCHAR(16) NOT NULL",
            "status VARCHAR(16) NOT NULL",
            "intent VARCHAR(16) NOT NULL",
            "bar_time TIMESTAMP",
            "model_version VARCHAR(64)",
            "parent_id VARCHAR(64)",
            "limit_price FLOAT",
            "stop_price FLOAT",
            "take_profit FLOAT",
            "stop_loss FLOAT",
            "trail_percent FLOAT",
            "filled_qty FLOAT NOT NULL",
            "avg_price FLOAT",
            "commission FLOAT NOT NULL",
            "created TIMESTAMP",
            "updated TIMESTAMP",
            "error VARCHAR(400)",
        ],
        "fills": [
            "trade_id VARCHAR(96) PRIMARY KEY",
            "client_id VARCHAR(64)",
            "venue_order_id VARCHAR(64) NOT NULL",
            "symbol VARCHAR(32) NOT NULL",
            "side VARCHAR(4) NOT NULL",
            "qty FLOAT NOT NULL",
            "price FLOAT NOT NULL",
            "commission FLOAT NOT NULL",
            "commission_asset VARCHAR(16)",
            "time TIMESTAMP NOT NULL",
            "session_id INTEGER",
        ],
        "positions": [
            f"id {serial} PRIMARY KEY",
            "time TIMESTAMP NOT NULL",
            "symbol VARCHAR(32) NOT NULL",
            "qty FLOAT NOT NULL",
            "session_id INTEGER",
        ],
        "equity": ["time TIMESTAMP PRIMARY KEY", "equity FLOAT NOT NULL", "cash FLOAT NOT NULL", "session_id INTEGER"],
        "signals": [
            "bar_time TIMESTAMP NOT NULL",
            "symbol VARCHAR(32) NOT NULL",
            '"values" JSON NOT NULL',
            "model_version VARCHAR(64)",
            "session_id INTEGER",
            "PRIMARY KEY (bar_time, symbol)",
        ],
        "state": ["key VARCHAR(64) PRIMARY KEY", "value VARCHAR NOT NULL"],
    }
    out = []
    for table, cols in tables.items():
        cols = [c for c in cols if drop != f"{table}.{c.split()[0]}"]
        out.append(f"CREATE TABLE {table} ({', '.join(cols)})")
    return out


def raw_sql(url: str, *statements: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as c:
        for s in statements:
            c.execute(text(s))
    engine.dispose()


def schema_version(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as c:
        value = c.scalar(text("SELECT value FROM meta WHERE key = 'schema_version'"))
    engine.dispose()
    return int(value)


def test_an_unversioned_journal_from_an_older_release_is_migrated_and_works(url) -> None:
    from bot.live.journal import SCHEMA_VERSION

    raw_sql(
        url,
        *v1_tables(url, drop="sessions.model_version"),  # no meta table: version 0
        "INSERT INTO sessions (name, venue, started, status) VALUES ('run', 'paper', '2024-03-01 09:00:00', 'ended')",
    )
    j = Journal(url)
    sid = j.start_session("run", "paper", T, model_version="m2")
    j.record_order(OrderRow("mp-1", "A", "buy", 1.0, "market", "pending", "entry", session_id=sid))
    j.close()
    j = Journal(url)  # reopening migrates nothing more
    assert [(s["id"], s["status"], s["model_version"]) for s in j.sessions()] == [
        (1, "ended", None),
        (2, "running", "m2"),
    ]
    assert j.get_order("mp-1").session_id == 2
    j.close()
    assert schema_version(url) == SCHEMA_VERSION


def test_a_version_1_journal_migrates_to_every_column_the_models_declare(url) -> None:
    """Guards MIGRATIONS: a column added to a model without its migration line fails here."""
    from sqlalchemy import create_engine, inspect

    from bot.live.journal import _Base

    raw_sql(
        url,
        *v1_tables(url),
        "CREATE TABLE meta (key VARCHAR(64) PRIMARY KEY, value VARCHAR(64) NOT NULL)",
        "INSERT INTO meta (key, value) VALUES ('schema_version', '1')",
    )
    Journal(url).close()
    engine = create_engine(url)
    found = {t: {c["name"] for c in inspect(engine).get_columns(t)} for t in _Base.metadata.tables}
    engine.dispose()
    for table in _Base.metadata.tables.values():
        missing = {c.name for c in table.columns} - found[table.name]
        assert not missing, f"{table.name}: add a MIGRATIONS line for {sorted(missing)}"


def test_migrations_name_nullable_model_columns_in_version_order() -> None:
    from bot.live.journal import MIGRATIONS, SCHEMA_VERSION, _Base

    versions = [m[0] for m in MIGRATIONS]
    assert versions == sorted(versions) and SCHEMA_VERSION == versions[-1]
    for _, table, column in MIGRATIONS:
        col = _Base.metadata.tables[table].c[column]
        assert col.nullable or col.server_default is not None, f"{table}.{column}"


def test_a_journal_written_by_newer_code_is_one_config_error(url) -> None:
    from bot.errors import ConfigError, without_credentials
    from bot.live.journal import SCHEMA_VERSION

    Journal(url).close()
    raw_sql(url, f"UPDATE meta SET value = '{SCHEMA_VERSION + 1}' WHERE key = 'schema_version'")
    with pytest.raises(ConfigError) as e:
        Journal(url)
    assert e.value.line() == (
        f"config error: live.state_db: the journal at {without_credentials(url)} has "
        f"schema version {SCHEMA_VERSION + 1}, newer than this code's "
        f"{SCHEMA_VERSION}: upgrade Market Predictor, or use another journal"
    )
    assert schema_version(url) == SCHEMA_VERSION + 1  # left as it was


# ---- one live session per journal and config name ------------------------------------------
def test_a_second_session_lock_is_refused_until_the_first_is_released(url) -> None:
    import os

    from bot.errors import ConfigError, without_credentials

    if url.startswith("postgresql"):
        url = url.replace("postgres:@", "postgres:hunter2@")  # the test server trusts any password
    first, second = Journal(url), Journal(url)
    first.lock("run")
    first.lock("run")  # idempotent
    with pytest.raises(ConfigError) as e:
        second.lock("run")
    assert e.value.line() == (
        f"config error: live.state_db: journal {without_credentials(url)} is in use by "
        f"another live session for config 'run' (pid {os.getpid()})"
    )
    assert "hunter2" not in e.value.line()
    second.lock("other")  # another config name: another lock
    first.close()
    second.lock("run")
    second.close()


HOLD_LOCK = """
import os, sys, time
from bot.live.journal import Journal
Journal(sys.argv[1]).lock("run")
print(os.getpid(), flush=True)
time.sleep(600)
"""


def test_the_lock_of_a_killed_session_is_released(url, repo_root) -> None:
    import signal
    import subprocess
    import sys
    import time

    from bot.errors import ConfigError

    Journal(url).close()  # the schema exists before the holder starts
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, url], cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        pid = holder.stdout.readline().strip()
        assert pid.isdigit(), holder.stderr.read()[-2000:] if holder.poll() is not None else pid
        j = Journal(url)
        with pytest.raises(ConfigError, match=rf"for config 'run' \(pid {pid}\)$"):
            j.lock("run")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=30)
    deadline = time.monotonic() + 30  # PostgreSQL ends the dead client's backend shortly after
    while True:
        try:
            j.lock("run")
            break
        except ConfigError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    j.close()
