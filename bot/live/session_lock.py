"""One live session per journal and config name: a lock held for the life of the session.

SQLite: an OS file lock (``flock``) on ``<db path>.<name>.lock``, which also holds the holder's
pid. PostgreSQL: a session-level ``pg_try_advisory_lock`` on a stable 64-bit hash of the name,
taken on a dedicated connection (tagged with the holder's pid in ``application_name``) that stays
open until the lock is released. Both vanish when the holder dies, SIGKILL included: the kernel
closes the file, and the server ends the backend whose client socket closed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from loguru import logger
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from bot.errors import ConfigError, without_credentials

_APP = "market-predictor live pid="
_HOLDER = text(
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.classid::bigint = :hi AND l.objid::bigint = :lo "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


class SessionLock:
    """A held lock; ``release()`` frees it (also safe to call twice)."""

    def __init__(self, release: Callable[[], object] | None = None):
        self._release = release

    def release(self) -> None:
        done, self._release = self._release, None
        if done is not None:
            done()


def advisory_key(name: str) -> int:
    """Return the stable signed 64-bit advisory-lock key of a config name."""
    digest = hashlib.sha256(f"market-predictor live session:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def acquire(url: str, name: str) -> SessionLock:
    """Take the lock of journal ``url`` and config ``name``; ConfigError if another session holds it."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return _file_lock(url, name)
    if backend == "postgresql":
        return _advisory_lock(url, name)
    logger.warning(
        "journal {}: no single-instance lock on {} (only sqlite and postgresql)", without_credentials(url), backend
    )
    return SessionLock()


def _in_use(url: str, name: str, pid: str) -> ConfigError:
    return ConfigError(
        "live.state_db",
        f"journal {without_credentials(url)} is in use by another live session for config '{name}' (pid {pid})",
    )


def _file_lock(url: str, name: str) -> SessionLock:
    import fcntl

    database = make_url(url).database
    if database in (None, "", ":memory:"):
        return SessionLock()  # a private in-memory journal: nobody else can open it
    path = Path(f"{database}.{name}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise _in_use(url, name, holder) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())

    def release() -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    return SessionLock(release)


def _advisory_lock(url: str, name: str) -> SessionLock:
    key = advisory_key(name)
    engine = create_engine(
        url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args={"application_name": f"{_APP}{os.getpid()}"}
    )
    try:
        conn = engine.connect()
    except SQLAlchemyError as e:
        engine.dispose()
        raise _cannot_lock(url, e) from None
    try:
        if conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):

            def release() -> None:
                conn.close()  # closing the connection unlocks
                engine.dispose()

            return SessionLock(release)
        holder = conn.scalar(_HOLDER, {"hi": (key >> 32) & 0xFFFFFFFF, "lo": key & 0xFFFFFFFF}) or ""
    except SQLAlchemyError as e:
        conn.close()
        engine.dispose()
        raise _cannot_lock(url, e) from None
    conn.close()
    engine.dispose()
    pid = holder[len(_APP) :] if holder.startswith(_APP) else "unknown"
    raise _in_use(url, name, pid)


def _cannot_lock(url: str, e: Exception) -> ConfigError:
    reason = without_credentials(" ".join(str(e).split("\n")[0].split()))[:300]
    return ConfigError("live.state_db", f"cannot lock the journal at {without_credentials(url)}: {reason}")
