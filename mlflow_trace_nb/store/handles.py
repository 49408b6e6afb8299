"""The store's connections: opening, reopening on a new file, fork safety, read snapshots.

``StoreHandles`` holds one SQLite store's state: a write connection (used by the writer
thread), a read connection (used by queries, so a query never waits for a batch being
written) and the (device, inode) each was opened on. Each use compares the path's current
identity with that (one ``stat``): a file deleted or replaced under the process makes both
connections reopen on the file now at the path. A damaged file met by a query raises
``StoreCorruptedError`` and marks the store so the writer moves the file aside
(``store.write_path``); any other fault of a query raises ``StoreUnavailableError``. Text
that is not valid UTF-8 (a damaged page, another program's write) is checked with ``PRAGMA
quick_check``: damage is ``StoreCorruptedError``, else the query is read again with U+FFFD
in place of the bad bytes (``read_retrying``), and so is every later one on that file. A path
that never worked (``faults.unusable_at_first_open``) makes
the store keep traces in memory, with a warning.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from mlflow_trace_nb._internal.fork_hooks import register_fork_hook
from mlflow_trace_nb._internal.gc_pause import gc_paused
from mlflow_trace_nb.errors import MlflowException, StoreCorruptedError, StoreUnavailableError
from mlflow_trace_nb.query.functions import register_functions
from mlflow_trace_nb.store.backlog import MAX_BACKLOG_CHARS, MAX_BACKLOG_SPANS, Backlog
from mlflow_trace_nb.store.connection import FileIdentity, file_identity, open_connection
from mlflow_trace_nb.store.faults import CORRUPT, classify, describe, unusable_at_first_open
from mlflow_trace_nb.store.recovery import RetryThread, confirm_damaged

__all__ = ["MEMORY", "StoreHandles", "read_retrying"]

_logger = logging.getLogger("mlflow_trace_nb.store.sqlite")

MEMORY = ":memory:"
_T = TypeVar("_T")


class _Undecodable(Exception):
    """A query met text that is not UTF-8; the store now reads leniently: read again."""


def _lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _is_undecodable(error: BaseException) -> bool:
    return "could not decode to utf-8" in str(error).lower()


def read_retrying(method: Callable[..., _T]) -> Callable[..., _T]:
    """A store query, run once more when it met text that is not UTF-8 (see the module)."""

    @functools.wraps(method)
    def query(self: Any, *args: Any, **kwargs: Any) -> _T:
        try:
            return method(self, *args, **kwargs)
        except _Undecodable:
            return method(self, *args, **kwargs)

    return query


#: Longest a fork waits for a write in progress on another thread to finish.
FORK_WAIT_S = 2.0


def _span_count(item: Any) -> int:
    spans = getattr(item, "spans", None)
    return len(spans) if isinstance(spans, list) else 1


def _retire(conn: sqlite3.Connection) -> None:
    """Close a connection to a file no longer at its path. SQLite does not checkpoint (nor
    delete) the WAL of a moved file on close, and a new file at the path would read that
    stale ``-wal`` as its own: checkpoint it into the old file and truncate it first."""
    with suppress(sqlite3.Error):
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with suppress(sqlite3.Error):
        conn.close()


class StoreHandles:
    """Connections and state of one store (the base of ``SqliteStore``)."""

    def __init__(
        self,
        path: str = MEMORY,
        *,
        max_backlog_spans: int = MAX_BACKLOG_SPANS,
        max_backlog_chars: int = MAX_BACKLOG_CHARS,
    ) -> None:
        self.path = path if path == MEMORY else os.path.abspath(os.path.expanduser(path))
        self._lock = threading.RLock()  # guards the read connection
        self._wlock = threading.RLock()  # guards the write connection and the backlog
        self._write_conn: sqlite3.Connection | None = None
        self._read_conn: sqlite3.Connection | None = None
        self._write_id: FileIdentity | None = None
        self._read_id: FileIdentity | None = None
        self._pid = os.getpid()
        self._opened = False  # the path has worked at least once
        self._fell_back = False
        self._backlog = Backlog(max_backlog_spans, max_backlog_chars)
        self._failures = 0  # consecutive failed write attempts
        self._retry_at = 0.0
        self._retry: RetryThread | None = None
        self._shutting_down = False
        self._suspect = False  # a query met damage: the writer checks before its next batch
        self._lenient = False  # the file holds text that is not UTF-8: read with U+FFFD
        self._warned: set[str] = set()
        self.written_traces = 0
        self.written_spans = 0
        self.dropped_spans = 0
        self.rejected_spans = 0
        self._reported_losses = (0, 0)
        self._last_error: str | None = None
        self._last_error_at: float | None = None
        self._moved_aside: list[str] = []
        self._fork_held = False  # this thread took the write lock for a fork
        register_fork_hook(
            self._after_fork, before=self._before_fork, after_in_parent=self._after_fork
        )

    @property
    def _write_lock(self) -> threading.RLock:
        # A file store reads on its own connection, so a query never waits for a batch being
        # written; an in-memory store has one connection and one lock for both.
        return self._lock if self.is_memory else self._wlock

    @property
    def is_memory(self) -> bool:
        """True when traces live only in this process."""
        return self.path == MEMORY

    # Connections ------------------------------------------------------------------------
    def _check_fork(self) -> None:
        if self._pid != os.getpid():  # connections, threads and the backlog stay with the parent
            self._write_conn = self._read_conn = None
            self._write_id = self._read_id = None
            self._lock = threading.RLock()
            self._wlock = threading.RLock()
            self._backlog = Backlog(self._backlog.max_spans, self._backlog.max_chars)
            self._retry = None
            self._pid = os.getpid()

    def _before_fork(self) -> None:
        """A fork waits (up to ``FORK_WAIT_S``) for a transaction in progress on another
        thread: a child inherits SQLite's in-process lock records, and one made mid-write
        believes its own (dead) copy of the writer holds the file's write lock, so every
        write of the child waits out its busy timeout and fails (10 s per trace)."""
        # writes only: a read holds no lock in the file that a child could inherit as held
        self._fork_held = self._wlock.acquire(timeout=FORK_WAIT_S)

    def _after_fork(self) -> None:
        held, self._fork_held = self._fork_held, False
        if held:
            with suppress(RuntimeError):
                self._wlock.release()

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        if key in self._warned:
            _logger.debug(message, *args)
        else:
            self._warned.add(key)
            _logger.warning(message, *args)

    def _fall_back_to_memory(self, error: BaseException) -> None:
        _logger.warning(
            "mlflow-trace-nb: cannot use the trace store %s (%s); keeping traces in memory "
            "for this process. Use mlflow_trace_nb.tracing.set_destination() to choose "
            "another file.",
            self.path,
            describe(error),
        )
        self.path = MEMORY
        self._fell_back = True
        self._write_conn = self._read_conn = None

    def _writer(self) -> sqlite3.Connection:
        conn = self._write_conn
        if conn is not None:
            if self.is_memory or file_identity(self.path) == self._write_id:
                return conn
            self._file_changed()
        try:
            conn = open_connection(self.path, self.is_memory)
        except (sqlite3.Error, OSError) as error:
            if self.is_memory or self._opened or not unusable_at_first_open(error):
                raise
            self._fall_back_to_memory(error)
            conn = open_connection(MEMORY, True)
        self._write_conn = conn
        self._write_id = None if self.is_memory else file_identity(self.path)
        self._opened = True
        if self.is_memory:
            self._read_conn = conn
        return conn

    def _reader(self) -> sqlite3.Connection:
        if self.is_memory:
            return self._writer()
        conn = self._read_conn
        if conn is not None:
            if file_identity(self.path) == self._read_id:
                return conn
            self._read_conn = None
            _retire(conn)
        try:
            conn = open_connection(self.path)
        except (sqlite3.Error, OSError) as error:
            if classify(error) == CORRUPT:
                raise self._corrupted(error) from error
            if self._opened or not unusable_at_first_open(error):
                return self._snapshot_reader(error)
            self._fall_back_to_memory(error)
            return self._writer()
        if self._lenient:
            conn.text_factory = _lenient_text
        self._read_conn = conn
        self._read_id = file_identity(self.path)
        self._opened = True
        return conn

    def _snapshot_reader(self, error: BaseException) -> sqlite3.Connection:
        """A read-only view of the file when it cannot be opened normally (a read-only
        remount of a WAL file whose -shm is gone): queries still see what is on disk. It is
        replaced by a normal connection at the first query that can open one."""
        if not os.path.exists(self.path):
            raise error
        uri = f"file:{urllib.parse.quote(self.path)}?mode=ro&immutable=1"
        try:
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            register_functions(conn)
            conn.execute("SELECT 1 FROM traces LIMIT 1").fetchall()
        except sqlite3.Error:
            raise error from None
        self._read_conn = conn
        self._read_id = None  # never matches: the next query tries a normal connection
        return conn

    def _file_changed(self) -> None:
        self._warn_once(
            "moved",
            "mlflow-trace-nb: the trace store %s was deleted or replaced while in use; "
            "later traces go to the file now at that path (created if needed)",
            self.path,
        )
        with self._lock:
            for conn in (self._write_conn, self._read_conn):
                if conn is not None:
                    _retire(conn)
            self._write_conn = self._read_conn = None
            self._write_id = self._read_id = None
            self._lenient = False

    def _close_writer(self) -> None:
        conn, self._write_conn, self._write_id = self._write_conn, None, None
        if conn is not None and conn is not self._read_conn:
            with suppress(sqlite3.Error):
                conn.close()

    def _close_all(self) -> None:
        with self._lock:
            for conn in {id(c): c for c in (self._write_conn, self._read_conn) if c}.values():
                with suppress(sqlite3.Error):
                    conn.close()
            self._write_conn = self._read_conn = None
            self._write_id = self._read_id = None

    def _corrupted(self, error: BaseException) -> StoreCorruptedError:
        self._suspect = True
        if not self.is_memory and self._read_conn is not None:
            with suppress(sqlite3.Error):
                self._read_conn.close()
            self._read_conn = None
        return StoreCorruptedError(self.path, describe(error))

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        self._check_fork()
        with self._lock, gc_paused():
            try:
                conn = self._reader()
                conn.execute("BEGIN")  # one snapshot for the trace rows and their spans
                try:
                    yield conn
                finally:
                    if conn.in_transaction:
                        with suppress(sqlite3.Error):
                            conn.execute("COMMIT")
            except sqlite3.DatabaseError as error:
                raise self._read_error(error) from error

    def _read_error(self, error: sqlite3.DatabaseError) -> Exception:
        """What a query that met ``error`` raises (see the module docstring)."""
        if classify(error) == CORRUPT:
            return self._corrupted(error)
        if _is_undecodable(error) and not self._lenient and not self.is_memory:
            detail = confirm_damaged(self.path)
            if detail is not None:
                return self._corrupted(sqlite3.DatabaseError(detail))
            self._warn_once(
                "undecodable",
                "mlflow-trace-nb: the trace store %s holds text that is not valid UTF-8 but "
                "PRAGMA quick_check finds no damage; reading it with U+FFFD in place of the "
                "bad bytes",
                self.path,
            )
            self._lenient = True
            if self._read_conn is not None:
                self._read_conn.text_factory = _lenient_text
            return _Undecodable()
        if "user-defined function raised exception" in str(error):
            return error  # a filter's own function (RLIKE): not a fault of the file
        return StoreUnavailableError(self.path, describe(error))

    def _write_for_user(self, work: Callable[[sqlite3.Connection], _T], what: str) -> _T:
        """Run ``work`` in one IMMEDIATE transaction on the write connection, under the
        writer's lock (committed, or rolled back if it raises), for a call the user made
        (an assessment, an attachment): a store fault raises ``MlflowException`` naming
        ``what`` and the file, a damaged file ``StoreCorruptedError``."""
        self._check_fork()
        with self._write_lock:
            try:
                conn = self._writer()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError as error:
                if classify(error) == CORRUPT:
                    raise self._corrupted(error) from error
                raise MlflowException(
                    f"Could not write the {what} to the trace store {self.path}: {describe(error)}",
                    "INTERNAL_ERROR",
                ) from error
        return result

    def close(self) -> None:
        """Close both connections (the next use reopens them; a backlog stays waiting)."""
        with self._write_lock, self._lock:
            self._close_all()
