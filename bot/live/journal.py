"""The session journal: orders, fills, position snapshots, equity, signals and sessions.

SQLAlchemy 2 ORM; SQLite by default (``sqlite:///state/<name>.db``), PostgreSQL by URL. An
order is written here *before* it is sent (status ``pending``), so a crash between writing and
sending leaves a row that reconciliation resolves by looking the client order id up at the
venue. Times are stored as naive UTC and returned as UTC ``pd.Timestamp``.

Order statuses: ``pending`` (journaled, not confirmed by the venue), ``new``,
``partially_filled``, ``filled``, ``canceled``, ``rejected``, ``expired`` (journaled but never
sent, and its decision bar has passed).

Schema versions: the ``meta`` table holds ``schema_version``. Opening a journal creates missing
tables, adds the columns ``MIGRATIONS`` lists above its stored version, and refuses (ConfigError,
``live.state_db``) a journal written by newer code. A journal with tables but no version is
version 0 (before versioning); the schema of this file is ``SCHEMA_VERSION``.

Dropped connections: every public method reruns, up to 3 tries with a short backoff, when the
database drops its connection (``_retry_on_disconnect``); then JournalUnavailableError. A write
whose COMMIT reached the server but whose answer was lost runs twice: all writes are idempotent
except ``start_session`` (a second row) and the answer of ``add_fill``/``apply_fill`` (False the
second time). Methods added to the class are covered too (all but ``_NOT_RETRIED``).

One live session per journal and config name: ``lock()`` (see :mod:`bot.live.session_lock`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import time
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, cast

import pandas as pd
from loguru import logger
from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    create_engine,
    delete,
    event,
    func,
    select,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.schema import CreateColumn

from bot.errors import ConfigError, JournalUnavailableError, without_credentials
from bot.live.session_lock import SessionLock, acquire
from bot.venues.types import Fill, Side

OPEN = ("pending", "new", "partially_filled")
FINAL = ("filled", "canceled", "rejected", "expired")

# ---- schema migrations ----------------------------------------------------------------
# To add a column: declare it on its model below with ``nullable=True`` (or a ``server_default``),
# then append ONE line here: (SCHEMA_VERSION + 1, "<table>", "<column>"). Its type, default and
# indexes come from the model. Several columns of one release may share a version. A new table
# needs no entry (it is created on open); bump the version only if old code must not open it.
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "sessions", "model_version"),  # before versioning (version 0): the model a session started with
]
SCHEMA_VERSION = max(version for version, _, _ in MIGRATIONS)


class _Base(DeclarativeBase):
    pass


class _Session(_Base):
    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    venue: Mapped[str] = mapped_column(String(32))
    started: Mapped[dt.datetime | None] = mapped_column(DateTime)
    ended: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    model_version: Mapped[str | None] = mapped_column(String(64), nullable=True)


class _Order(_Base):
    __tablename__ = "orders"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    venue_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))
    qty: Mapped[float] = mapped_column(Float)
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    intent: Mapped[str] = mapped_column(String(16))
    bar_time: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    parent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    limit_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    stop_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    take_profit: Mapped[float | None] = mapped_column(Float, nullable=True)
    stop_loss: Mapped[float | None] = mapped_column(Float, nullable=True)
    trail_percent: Mapped[float | None] = mapped_column(Float, nullable=True)
    filled_qty: Mapped[float] = mapped_column(Float, default=0.0)
    avg_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    commission: Mapped[float] = mapped_column(Float, default=0.0)
    created: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    updated: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(String(400), nullable=True)


class _Fill(_Base):
    __tablename__ = "fills"
    trade_id: Mapped[str] = mapped_column(String(96), primary_key=True)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    venue_order_id: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))
    qty: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    commission: Mapped[float] = mapped_column(Float)
    commission_asset: Mapped[str | None] = mapped_column(String(16), nullable=True)
    time: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    session_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class _Position(_Base):
    __tablename__ = "positions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    symbol: Mapped[str] = mapped_column(String(32))
    qty: Mapped[float] = mapped_column(Float)
    session_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class _Equity(_Base):
    __tablename__ = "equity"
    time: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    equity: Mapped[float] = mapped_column(Float)
    cash: Mapped[float] = mapped_column(Float)
    session_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class _Signal(_Base):
    __tablename__ = "signals"
    bar_time: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    values: Mapped[dict] = mapped_column(JSON)
    model_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    session_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class _State(_Base):
    __tablename__ = "state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String)


class _Meta(_Base):
    """About the journal itself: ``schema_version``."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))


@dataclass
class OrderRow:
    """One journaled order (plain data; no ORM object leaves this module)."""

    client_id: str
    symbol: str
    side: str
    qty: float
    type: str
    status: str
    intent: str
    bar_time: pd.Timestamp | None = None
    model_version: str | None = None
    parent_id: str | None = None
    limit_price: float | None = None
    stop_price: float | None = None
    take_profit: float | None = None
    stop_loss: float | None = None
    trail_percent: float | None = None
    venue_id: str | None = None
    filled_qty: float = 0.0
    avg_price: float | None = None
    commission: float = 0.0
    created: pd.Timestamp | None = None
    updated: pd.Timestamp | None = None
    error: str | None = None
    session_id: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


_ORDER_FIELDS = [f.name for f in fields(OrderRow)]
_TIME_FIELDS = ("bar_time", "created", "updated")


def to_db_time(ts: Any) -> dt.datetime | None:
    """Return ``ts`` as a naive UTC datetime (None stays None)."""
    if ts is None:
        return None
    t = pd.Timestamp(ts)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    return t.tz_localize(None).to_pydatetime()


def from_db_time(value: dt.datetime | None) -> pd.Timestamp | None:
    """Return a stored naive UTC datetime as a UTC timestamp."""
    return None if value is None else pd.Timestamp(value).tz_localize("UTC")


def default_url(name: str, root: Path | str = ".") -> str:
    """Return the default journal URL for a config name: ``sqlite:///state/<name>.db``."""
    return f"sqlite:///{Path(root) / 'state' / f'{name}.db'}"


# ---- retries on dropped connections --------------------------------------------------
_RETRY_DELAYS = (0.2, 1.0)  # seconds before the 2nd and the 3rd try
_NOT_RETRIED = {"close", "lock"}
_retrying = threading.local()  # set while a method retries: the methods it calls do not retry again


def _retry_on_disconnect(cls: type) -> type:
    """Wrap every public method of ``cls`` (but ``_NOT_RETRIED``) in ``_retried``; signatures are kept."""
    for name, fn in list(vars(cls).items()):
        if isinstance(fn, types.FunctionType) and not name.startswith("_") and name not in _NOT_RETRIED:
            setattr(cls, name, _retried(fn))
    return cls


def _retried(fn):
    """Rerun ``fn`` when the database drops its connection; JournalUnavailableError after the last try."""

    @functools.wraps(fn)
    def run(self, *args, **kwargs):
        if getattr(_retrying, "active", False):
            return fn(self, *args, **kwargs)
        _retrying.active = True
        try:
            for attempt, delay in enumerate((*_RETRY_DELAYS, None), start=1):
                try:
                    return fn(self, *args, **kwargs)
                except DBAPIError as e:
                    if not _disconnected(e, self._engine.dialect.name):
                        raise
                    reason = without_credentials(" ".join(str(e.orig).split()))[:300]
                    where = f"journal {without_credentials(self.url)}: {fn.__name__}"
                    if delay is None:
                        raise JournalUnavailableError(
                            f"{where}: the database stayed unreachable after {attempt} tries: {reason}"
                        ) from e
                    logger.warning("{}: connection lost ({}); try {} in {:g} s", where, reason, attempt + 1, delay)
                    time.sleep(delay)
        finally:
            _retrying.active = False

    return run


def _disconnected(e: DBAPIError, backend: str) -> bool:
    """A dropped connection, or (not on SQLite, whose OperationalError includes "no such column") any
    operational error of the server: worth a new connection and another try."""
    return e.connection_invalidated or (isinstance(e, OperationalError) and backend != "sqlite")


@_retry_on_disconnect
class Journal:
    """The session journal. Every write is committed before the method returns."""

    def __init__(self, url: str):
        """Open (and create if needed) the journal at ``url``.

        A URL that cannot be opened (malformed, unknown or missing driver, unreachable server,
        refused login) is a ConfigError naming ``live.state_db``, with any password masked.
        """
        self.url = url
        try:
            parsed = make_url(url)
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self._engine = create_engine(url, future=True, pool_pre_ping=True)
            if parsed.get_backend_name() == "sqlite":
                event.listen(self._engine, "connect", _sqlite_pragmas)
            _prepare_schema(self._engine, url)
        except (SQLAlchemyError, ImportError, OSError) as e:
            reason = without_credentials(" ".join(str(e).split("\n")[0].split()))[:300]
            raise ConfigError(
                "live.state_db", f"cannot open the journal at {without_credentials(url)}: {reason}"
            ) from None
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._locks: dict[str, SessionLock] = {}

    def close(self) -> None:
        """Release the session locks and the database connections."""
        for held in self._locks.values():
            held.release()
        self._locks.clear()
        self._engine.dispose()

    def lock(self, name: str) -> None:
        """Hold the single-instance lock of this journal and config ``name`` until ``close()``.

        Idempotent; a ConfigError (``live.state_db``, with the holder's pid) if another live
        session holds it. Read-only users (the report) do not lock.
        """
        if name not in self._locks:
            self._locks[name] = acquire(self.url, name)

    # ---- sessions -------------------------------------------------------------------
    def start_session(
        self, name: str, venue: str, started: pd.Timestamp | None, model_version: str | None = None
    ) -> int:
        """Record a new session and return its id; sessions left 'running' become 'crashed'."""
        with self._sessions.begin() as s:
            for old in s.scalars(select(_Session).where(_Session.status == "running")):
                old.status = "crashed"
            row = _Session(
                name=name, venue=venue, started=to_db_time(started), status="running", model_version=model_version
            )
            s.add(row)
            s.flush()
            return int(row.id)

    def set_session_model(self, session_id: int, model_version: str | None) -> None:
        """Record the model version a session started trading with (known only after its warm-up)."""
        with self._sessions.begin() as s:
            row = s.get(_Session, session_id)
            if row is not None:
                row.model_version = model_version

    def end_session(self, session_id: int, ended: pd.Timestamp | None, status: str = "ended") -> None:
        with self._sessions.begin() as s:
            row = s.get(_Session, session_id)
            if row is not None:
                row.ended, row.status = to_db_time(ended), status

    def sessions(self) -> list[dict]:
        """Return every session as a dict, oldest first."""
        with self._sessions() as s:
            rows = s.scalars(select(_Session).order_by(_Session.id)).all()
            return [
                dict(
                    id=r.id,
                    name=r.name,
                    venue=r.venue,
                    started=from_db_time(r.started),
                    ended=from_db_time(r.ended),
                    status=r.status,
                    model_version=r.model_version,
                )
                for r in rows
            ]

    # ---- orders ---------------------------------------------------------------------
    def record_order(self, row: OrderRow) -> None:
        """Insert an order (normally status ``pending``, before it is sent); keep an existing one."""
        self.apply_orders([row], {})

    def update_order(self, client_id: str, **changes: Any) -> None:
        """Change fields of a journaled order (unknown ids are ignored)."""
        with self._sessions.begin() as s:
            row = s.get(_Order, client_id)
            if row is None:
                return
            for key, value in changes.items():
                setattr(row, key, to_db_time(value) if key in _TIME_FIELDS else value)

    def get_order(self, client_id: str) -> OrderRow | None:
        with self._sessions() as s:
            row = s.get(_Order, client_id)
            return None if row is None else _order_row(row)

    def orders(self, statuses: Iterable[str] | None = None, symbol: str | None = None) -> list[OrderRow]:
        """Return journaled orders (optionally only some statuses / one symbol), oldest first."""
        q = select(_Order).order_by(_Order.created, _Order.client_id)
        if statuses is not None:
            q = q.where(_Order.status.in_(list(statuses)))
        if symbol is not None:
            q = q.where(_Order.symbol == symbol)
        with self._sessions() as s:
            return [_order_row(r) for r in s.scalars(q)]

    def open_orders(self) -> list[OrderRow]:
        return self.orders(OPEN)

    # ---- fills ----------------------------------------------------------------------
    def add_fill(self, fill: Fill, session_id: int | None = None) -> bool:
        """Store a fill; return False if its trade id is already journaled."""
        return self.apply_fill(fill, session_id, {}, {})

    def has_fill(self, trade_id: str) -> bool:
        """Return True if the trade is journaled."""
        with self._sessions() as s:
            return s.get(_Fill, trade_id) is not None

    def apply_fill(
        self,
        fill: Fill,
        session_id: int | None,
        updates: Mapping[str, Mapping[str, Any]],
        state: Mapping[str, Any],
        new_rows: Iterable[OrderRow] = (),
    ) -> bool:
        """Store a fill with what it implies, in ONE transaction: all of it is journaled or none.

        ``new_rows`` are inserted if missing (an exit leg first seen by its fill), ``updates``
        change orders (client id -> fields), ``state`` sets key/value state (the armed exits).
        Return False, writing nothing, if the trade id is already journaled.
        """
        with self._sessions.begin() as s:
            if s.get(_Fill, fill.trade_id) is not None:
                return False
            s.add(
                _Fill(
                    trade_id=fill.trade_id,
                    client_id=fill.client_order_id,
                    venue_order_id=fill.venue_order_id,
                    symbol=fill.symbol,
                    side=fill.side,
                    qty=fill.qty,
                    price=fill.price,
                    commission=fill.commission,
                    commission_asset=fill.commission_asset,
                    time=to_db_time(fill.time),
                    session_id=session_id,
                )
            )
            _apply_orders(s, new_rows, updates)
            for key, value in state.items():
                s.merge(_State(key=key, value=json.dumps(value, default=str)))
            return True

    def apply_orders(self, new_rows: Iterable[OrderRow], updates: Mapping[str, Mapping[str, Any]]) -> None:
        """Insert ``new_rows`` (if missing) and change orders (client id -> fields) in one transaction."""
        with self._sessions.begin() as s:
            _apply_orders(s, new_rows, updates)

    def fills(self, client_id: str | None = None) -> list[Fill]:
        q = select(_Fill).order_by(_Fill.time, _Fill.trade_id)
        if client_id is not None:
            q = q.where(_Fill.client_id == client_id)
        with self._sessions() as s:
            # the journal stores the sides of Fill objects: "buy" or "sell"
            return [
                Fill(
                    r.client_id,
                    r.venue_order_id,
                    r.trade_id,
                    r.symbol,
                    cast(Side, r.side),
                    r.qty,
                    r.price,
                    r.commission,
                    r.commission_asset,
                    from_db_time(r.time),
                )
                for r in s.scalars(q)
            ]

    def last_fill_time(self) -> pd.Timestamp | None:
        with self._sessions() as s:
            return from_db_time(s.scalar(select(func.max(_Fill.time))))

    # ---- positions, equity, signals ------------------------------------------------------
    def snapshot_positions(
        self, time: pd.Timestamp, positions: Mapping[str, float], session_id: int | None = None
    ) -> None:
        """Record the venue's positions at ``time`` (a flat book is recorded as an empty snapshot)."""
        with self._sessions.begin() as s:
            when = to_db_time(time)
            s.execute(delete(_Position).where(_Position.time == when))
            for sym, qty in sorted(positions.items()):
                s.add(_Position(time=when, symbol=sym, qty=float(qty), session_id=session_id))
            if not positions:
                s.add(_Position(time=when, symbol="", qty=0.0, session_id=session_id))

    def last_positions(self) -> dict[str, float] | None:
        """Return the latest position snapshot (None if there is none)."""
        with self._sessions() as s:
            last = s.scalar(select(func.max(_Position.time)))
            if last is None:
                return None
            rows = s.scalars(select(_Position).where(_Position.time == last))
            return {r.symbol: r.qty for r in rows if r.symbol}

    def record_equity(self, time: pd.Timestamp, equity: float, cash: float, session_id: int | None = None) -> None:
        with self._sessions.begin() as s:
            s.merge(_Equity(time=to_db_time(time), equity=float(equity), cash=float(cash), session_id=session_id))

    def equity(self) -> pd.DataFrame:
        """Return the equity marks (``time``, ``equity``, ``cash``), oldest first."""
        with self._sessions() as s:
            rows = s.scalars(select(_Equity).order_by(_Equity.time)).all()
            return pd.DataFrame(
                {
                    "time": [from_db_time(r.time) for r in rows],
                    "equity": [r.equity for r in rows],
                    "cash": [r.cash for r in rows],
                }
            )

    def record_signal(
        self,
        bar_time: pd.Timestamp,
        symbol: str,
        values: Mapping[str, float],
        model_version: str | None,
        session_id: int | None = None,
    ) -> None:
        self.record_signals(bar_time, {symbol: values}, model_version, session_id)

    def record_signals(
        self,
        bar_time: pd.Timestamp,
        by_symbol: Mapping[str, Mapping[str, float]],
        model_version: str | None,
        session_id: int | None = None,
    ) -> None:
        """Record one bar's signal values of every symbol, in one transaction."""
        with self._sessions.begin() as s:
            for symbol, values in by_symbol.items():
                clean = {k: (None if v is None or v != v else float(v)) for k, v in values.items()}
                s.merge(
                    _Signal(
                        bar_time=to_db_time(bar_time),
                        symbol=symbol,
                        values=clean,
                        model_version=model_version,
                        session_id=session_id,
                    )
                )

    def signals(self) -> pd.DataFrame:
        with self._sessions() as s:
            rows = s.scalars(select(_Signal).order_by(_Signal.bar_time, _Signal.symbol)).all()
            return pd.DataFrame(
                [
                    dict(timestamp=from_db_time(r.bar_time), symbol=r.symbol, model_version=r.model_version, **r.values)
                    for r in rows
                ]
            )

    # ---- key/value state --------------------------------------------------------------
    def get_state(self, key: str, default: Any = None) -> Any:
        with self._sessions() as s:
            row = s.get(_State, key)
            return default if row is None else json.loads(row.value)

    def put_state(self, key: str, value: Any) -> None:
        with self._sessions.begin() as s:
            s.merge(_State(key=key, value=json.dumps(value, default=str)))


def _apply_orders(s: Any, new_rows: Iterable[OrderRow], updates: Mapping[str, Mapping[str, Any]]) -> None:
    for row in new_rows:
        if s.get(_Order, row.client_id) is None:
            values = {k: getattr(row, k) for k in _ORDER_FIELDS}
            for k in _TIME_FIELDS:
                values[k] = to_db_time(values[k])
            s.add(_Order(**values))
    s.flush()
    for client_id, changes in updates.items():
        order = s.get(_Order, client_id)
        for key, value in changes.items() if order is not None else ():
            setattr(order, key, to_db_time(value) if key in _TIME_FIELDS else value)


def _sqlite_pragmas(conn, _record) -> None:
    """WAL + synchronous=NORMAL: a commit survives a killed process (not a power cut), and is fast."""
    cur = conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _order_row(r: _Order) -> OrderRow:
    values = {k: getattr(r, k) for k in _ORDER_FIELDS}
    for k in _TIME_FIELDS:
        values[k] = from_db_time(values[k])
    return OrderRow(**values)


# ---- schema versions --------------------------------------------------------------------
_VERSION_KEY = "schema_version"
_JOURNAL_TABLES = {t for t in _Base.metadata.tables if t != _Meta.__tablename__}


def _prepare_schema(engine, url: str) -> None:
    """Create missing tables, migrate an older journal forward, refuse one written by newer code."""
    with engine.begin() as conn:
        tables = set(sa_inspect(conn).get_table_names())
        stored = _stored_version(conn) if _Meta.__tablename__ in tables else None
        if stored is not None and stored > SCHEMA_VERSION:
            raise ConfigError(
                "live.state_db",
                f"the journal at {without_credentials(url)} has schema "
                f"version {stored}, newer than this code's {SCHEMA_VERSION}: "
                "upgrade Market Predictor, or use another journal",
            )
        _Base.metadata.create_all(conn)
        version = stored if stored is not None else (0 if tables & _JOURNAL_TABLES else SCHEMA_VERSION)
        for _, table, column in [m for m in MIGRATIONS if m[0] > version]:
            _add_column(conn, table, column)
        meta, value = cast(Table, _Meta.__table__), str(SCHEMA_VERSION)  # declared: a Table
        if stored is None:
            conn.execute(meta.insert().values(key=_VERSION_KEY, value=value))
        elif stored != SCHEMA_VERSION:
            conn.execute(meta.update().where(meta.c.key == _VERSION_KEY).values(value=value))
        if version != SCHEMA_VERSION:
            logger.info(
                "journal {}: schema migrated from version {} to {}", without_credentials(url), version, SCHEMA_VERSION
            )


def _stored_version(conn: Connection) -> int | None:
    value = conn.scalar(select(_Meta.value).where(_Meta.key == _VERSION_KEY))
    return None if value is None else int(value)


def _add_column(conn: Connection, table: str, column: str) -> None:
    """Add a model's column (with its indexes) to an existing table, unless it is there already."""
    if column in {c["name"] for c in sa_inspect(conn).get_columns(table)}:
        return
    col = _Base.metadata.tables[table].c[column]
    if not col.nullable and col.server_default is None:
        raise TypeError(f"journal migration {table}.{column}: declare it nullable=True or give it a server_default")
    quoted = conn.dialect.identifier_preparer.quote(table)
    conn.exec_driver_sql(f"ALTER TABLE {quoted} ADD COLUMN {CreateColumn(col).compile(dialect=conn.dialect)}")
    for index in col.table.indexes:
        if column in index.columns:
            index.create(conn, checkfirst=True)
