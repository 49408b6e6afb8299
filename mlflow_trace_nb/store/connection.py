"""Open SQLite connections to the trace file, robustly, and tell whether the file is the same.

Several processes may make their first trace at the same moment in a directory with no trace
file. Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is
locked" at once (without waiting out the busy timeout) when two connections ask for it
together; the schema migration can meet the same. ``open_connection`` retries the whole
set-up on a lock, with jittered backoff, for up to ``OPEN_RETRY_S`` seconds. Migrations run
in ``BEGIN IMMEDIATE`` and only when a plain read says some are pending, so a reader never
takes the write lock (and works on a full disk or a read-only remount).

``file_identity`` is the (device, inode) of the path, compared once per batch with the value
taken at open time: a file deleted or replaced under a running process is noticed and the
connections reopened on the new file.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import stat
import time

from mlflow_trace_nb.query.functions import register_functions
from mlflow_trace_nb.store.faults import UnusableStoreError
from mlflow_trace_nb.store.migrations import check_layout, migrate, pending

__all__ = ["BUSY_TIMEOUT_MS", "OPEN_RETRY_S", "file_identity", "open_connection"]

#: How long one statement waits for another process's write lock before failing: a write
#: that fails waits in the backlog and is retried with backoff, so a long wait here would
#: only hold up reads, flushes and exit behind a lock another program keeps.
BUSY_TIMEOUT_MS = 1_000
#: How long opening a file keeps retrying when the set-up meets a lock.
OPEN_RETRY_S = 30.0

FileIdentity = tuple[int, int]


def file_identity(path: str) -> FileIdentity | None:
    """(st_dev, st_ino) of ``path``, or None when there is no file there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _is_lock(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in (5, 6):  # SQLITE_BUSY, SQLITE_LOCKED
        return True
    message = str(error).lower()
    return "locked" in message or "busy" in message


def _set_up(conn: sqlite3.Connection, memory: bool) -> None:
    register_functions(conn)  # RLIKE
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: batches touch many pages
    if not memory:
        if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    if pending(conn):
        migrate(conn)
    check_layout(conn)


def open_connection(path: str, memory: bool = False) -> sqlite3.Connection:
    """A connection to ``path`` in WAL mode with the schema up to date (retried on locks).

    Raises ``OSError`` or ``sqlite3.Error`` for anything but a lock, or a lock that lasts
    longer than ``OPEN_RETRY_S``.
    """
    if not memory:
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISREG(os.stat(path).st_mode):  # /dev/full, a FIFO, a directory
                raise UnusableStoreError(f"{path} is not a regular file")
    deadline = time.monotonic() + OPEN_RETRY_S
    delay = 0.005
    while True:
        conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        try:
            _set_up(conn, memory)
            return conn
        except sqlite3.Error as error:
            conn.close()
            if not _is_lock(error) or time.monotonic() >= deadline:
                raise
        except BaseException:
            conn.close()
            raise
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.25)
