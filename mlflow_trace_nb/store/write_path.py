"""The store's write path: batches, the backlog while the file cannot be written, retries.

See ``store.sqlite`` for the failure model as a whole. Here: ``export`` turns items into rows
(one odd item is left out and counted, never its batch), writes them in one transaction
(``store.writing``), and on a store fault keeps them in the bounded ``Backlog``, retrying
after ``RETRY_DELAYS_S`` from the next batch, ``flush()`` or a retry thread; a damaged file
is moved aside (``store.recovery``) and the write retried at once on a new file.
``shutdown()`` (process exit) tries once more, then reports what is lost.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any

from mlflow_trace_nb.store.backlog import StoreHealth
from mlflow_trace_nb.store.connection import BUSY_TIMEOUT_MS, file_identity
from mlflow_trace_nb.store.faults import CORRUPT, DATA, classify, describe
from mlflow_trace_nb.store.handles import StoreHandles
from mlflow_trace_nb.store.recovery import RetryThread, confirm_damaged, move_aside
from mlflow_trace_nb.store.rows import SpanRow, TraceRows, batch_rows
from mlflow_trace_nb.store.writing import write_batch, write_items, written_counts

__all__ = ["RETRY_DELAYS_S", "SHUTDOWN_RETRY_S", "WritePath"]

_logger = logging.getLogger("mlflow_trace_nb.store.sqlite")

#: Waits between attempts while writes fail (the last one repeats): from the next batch, a
#: ``flush()`` or the retry thread, whichever comes first once the wait is over.
RETRY_DELAYS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
#: How long ``shutdown()`` (process exit) keeps trying to write a waiting backlog.
SHUTDOWN_RETRY_S = 2.0
_CHUNK = 2_000  # backlog items per transaction


class WritePath(StoreHandles):
    """Writing, with the failure model (the write half of ``SqliteStore``)."""

    def health(self) -> StoreHealth:
        """Counters: written, pending (waiting for the file), dropped, rejected; last error."""
        state = "memory" if self._fell_back else "retrying" if self._backlog else "ok"
        return StoreHealth(
            path=self.path,
            state=state,
            written_traces=self.written_traces,
            written_spans=self.written_spans,
            pending_spans=self._backlog.spans,
            dropped_spans=self.dropped_spans,
            rejected_spans=self.rejected_spans,
            last_error=self._last_error,
            last_error_at=self._last_error_at,
            moved_aside=tuple(self._moved_aside),
        )

    def flush(
        self, timeout: float | None = None, *, due_only: bool = False, keep_trying: bool = False
    ) -> bool:
        """Try to write what waits for the file; True when nothing waits any more.
        ``timeout`` bounds the whole: the wait for a batch being written meanwhile and the
        attempt's wait for another program's lock. ``keep_trying`` (the public flush) tries
        again until ``timeout`` (None: until written); ``due_only`` (the flush before a
        read) makes no attempt before the next retry is due."""
        self._check_fork()
        if not self._backlog:
            return True
        if due_only and time.monotonic() < self._retry_at:
            return False
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        delay = RETRY_DELAYS_S[0]
        while True:
            if not self._attempt_flush(deadline):
                return False  # the write lock stayed taken (a batch being written) too long
            if not self._backlog or not keep_trying:
                return not self._backlog
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            # keep trying until the timeout (another program's lock may end any moment),
            # without the write lock meanwhile: the writer thread goes on queueing behind it
            time.sleep(delay if left is None else min(delay, left))
            delay = min(delay * 2, 0.5)

    def _attempt_flush(self, deadline: float | None) -> bool:
        """One attempt at the backlog within ``deadline``; False if the lock was not had."""
        lock = self._write_lock
        wait = -1 if deadline is None else max(0.0, deadline - time.monotonic())
        if not lock.acquire(timeout=wait):
            return False
        try:
            if self._backlog:
                self._drain(None if deadline is None else deadline - time.monotonic())
            return True
        finally:
            lock.release()

    def waiting_out_fault(self) -> bool:
        """True while writes fail and what is made waits (a lock, a full disk...)."""
        return bool(self._backlog) or self._failures > 0

    def flush_due(self, timeout: float | None = None) -> bool:
        """``flush(timeout, due_only=True)``: the provider's flush before a read."""
        return self.flush(timeout, due_only=True)

    def flush_until(self, timeout: float | None = None) -> bool:
        """``flush(timeout, keep_trying=True)``: the public ``flush(timeout)``."""
        return self.flush(timeout, keep_trying=True)

    def shutdown(self) -> None:
        """Process exit: write what waits (trying for ``SHUTDOWN_RETRY_S``), report what is
        lost, close connections."""
        self._check_fork()
        self._shutting_down = True  # no new retry thread: this loop is the last retry
        retry, self._retry = self._retry, None
        if retry is not None:
            retry.stop()
        deadline = time.monotonic() + SHUTDOWN_RETRY_S
        with self._write_lock:
            while self._backlog and not self._drain() and time.monotonic() < deadline:
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            if self._backlog:
                lost = self._backlog.clear()
                self.dropped_spans += lost
                _logger.warning(
                    "mlflow-trace-nb: could not write %d spans to the trace store %s before "
                    "exit (last error: %s); they are lost",
                    lost,
                    self.path,
                    self._last_error,
                )
            losses = (self.dropped_spans, self.rejected_spans)
            if losses != self._reported_losses and any(losses):
                self._reported_losses = losses
                _logger.warning(
                    "mlflow-trace-nb: trace store %s: %d spans written, %d dropped (store "
                    "unavailable too long), %d rejected (unwritable values)",
                    self.path,
                    self.written_spans,
                    *losses,
                )
            self.close()
            self._shutting_down = False  # the store may be used again (it reopens)

    # Writing ----------------------------------------------------------------------------
    def export(self, items: Sequence[Any]) -> None:
        """Write span and trace records (``SpanRecord``, ``TraceRecord``): spans as they come,
        a trace's row IN_PROGRESS with its first spans and final with its ``TraceRecord``.
        Never raises for a store fault (see the module docstring)."""
        traces = batch_rows(items, self._reject)
        if traces:
            self._check_fork()
            self._submit(traces, [])

    def _submit(self, traces: list[TraceRows], late: list[SpanRow]) -> None:
        with self._write_lock:
            if self._backlog:  # a fault is being waited out: queue behind what waits
                self._hold(traces, late)
                if time.monotonic() >= self._retry_at:
                    self._drain()
                else:
                    self._ensure_retry_thread()
                return
            try:
                self._write_now(traces, late)
            except Exception as error:
                self._hold(traces, late)
                if self._failed(error):
                    self._drain()

    def _write_now(
        self, traces: list[TraceRows], late: list[SpanRow], lock_wait_s: float | None = None
    ) -> None:
        """Write one batch (file checks included); raises on a store fault. ``lock_wait_s``
        (a ``flush(timeout)`` with less time left than the busy timeout) cuts the wait for
        another program's lock."""
        if self._suspect:
            self._check_damage()
        now_ms = int(time.time() * 1000)
        conn = self._writer()
        with self._lock_wait_cut(conn, lock_wait_s):
            left_out = self._write_checked(conn, traces, late, now_ms)
        if not self.is_memory and file_identity(self.path) != self._write_id:
            # deleted or replaced while we wrote: the batch may sit in the old file
            self._file_changed()
            left_out = self._write_checked(self._writer(), traces, late, now_ms)
        finished, spans = written_counts(traces)
        self.written_traces += max(0, finished - left_out[0])
        self.written_spans += spans + len(late) - left_out[1]
        if self._failures:
            self._recovered()

    @contextlib.contextmanager
    def _lock_wait_cut(self, conn: sqlite3.Connection, wait_s: float | None) -> Iterator[None]:
        """Inside, ``conn`` waits at most ``wait_s`` for another program's lock, when that is
        shorter than the busy timeout (restored after)."""
        if wait_s is None or wait_s >= BUSY_TIMEOUT_MS / 1000 or self.is_memory:
            yield
            return
        conn.execute(f"PRAGMA busy_timeout = {max(0, int(wait_s * 1000))}")
        try:
            yield
        finally:
            with contextlib.suppress(sqlite3.Error):  # the write's own error matters
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def _write_checked(
        self, conn: sqlite3.Connection, traces: list[TraceRows], late: list[SpanRow], now_ms: int
    ) -> tuple[int, int]:
        """Write a batch; a refused value costs only its item. Returns (traces, spans) left
        out."""
        try:
            write_batch(conn, traces, late, now_ms)
            return 0, 0
        except Exception as error:
            if classify(error) != DATA:
                raise
        rejected_traces, rejected, refusal = write_items(conn, traces, late, now_ms)
        if rejected and refusal is not None:
            self._reject(rejected, refusal)
        return rejected_traces, rejected

    def _drain(self, lock_wait_s: float | None = None) -> bool:
        """Write the backlog, oldest first; True when it is empty (write lock held)."""
        retried = False
        while self._backlog:
            traces, late, count = self._backlog.peek(_CHUNK)
            try:
                self._write_now(traces, late, lock_wait_s)
            except Exception as error:
                if self._failed(error) and not retried:
                    retried = True
                    continue
                return False
            self._backlog.pop(count)
        return True

    def _hold(self, traces: list[TraceRows], late: list[SpanRow]) -> None:
        dropped = self._backlog.add(traces, late)
        if dropped:
            self.dropped_spans += dropped
            self._warn_once(
                "overflow",
                "mlflow-trace-nb: the trace store %s is still unavailable (%s) and %d spans "
                "wait for it: dropped the oldest %d (%d so far); see store.health()",
                self.path,
                self._last_error,
                self._backlog.spans,
                dropped,
                self.dropped_spans,
            )

    def _failed(self, error: BaseException) -> bool:
        """Note a failed attempt and schedule the next; True to retry at once (a damaged
        file was just moved aside)."""
        self._last_error = describe(error)
        self._last_error_at = time.time()
        self._failures += 1
        delay = RETRY_DELAYS_S[min(self._failures, len(RETRY_DELAYS_S)) - 1]
        self._retry_at = time.monotonic() + delay
        if not self.is_memory:
            self._close_writer()  # reopen on the next attempt (I/O errors, remounts)
        if classify(error) == CORRUPT and self._check_damage():
            return True
        self._warn_once(
            "unavailable",
            "mlflow-trace-nb: cannot write to the trace store %s (%s); keeping up to %d "
            "spans in memory and retrying (see store.health())",
            self.path,
            self._last_error,
            self._backlog.max_spans,
        )
        self._ensure_retry_thread()
        return False

    def _recovered(self) -> None:
        _logger.warning(
            "mlflow-trace-nb: the trace store %s works again (after %d failed attempts)",
            self.path,
            self._failures,
        )
        self._failures = 0
        self._warned.discard("unavailable")
        self._warned.discard("overflow")

    def _check_damage(self) -> bool:
        """Confirm damage and move the file aside; True when a new file can be started."""
        self._suspect = False
        if self.is_memory:
            return False
        expected = self._write_id or self._read_id or file_identity(self.path)
        self._close_all()
        detail = confirm_damaged(self.path)
        if detail is None:
            return False
        try:
            target = move_aside(self.path, expected)
        except OSError as error:
            self._warn_once(
                "damaged",
                "mlflow-trace-nb: the trace store %s is damaged (%s) and could not be moved "
                "aside (%s); move it aside by hand, traces wait in memory meanwhile",
                self.path,
                detail,
                error,
            )
            return False
        if target is not None:
            self._moved_aside.append(target)
            _logger.warning(
                "mlflow-trace-nb: the trace store %s is damaged (%s); moved it to %s and "
                "started a new, empty store at %s",
                self.path,
                detail,
                target,
                self.path,
            )
        return True

    def _ensure_retry_thread(self) -> None:
        if self._shutting_down:
            return
        if self._retry is None or not self._retry.alive():
            try:
                self._retry = RetryThread(self._retry_once, lambda: self._retry_at)
            except RuntimeError:  # no new threads at interpreter exit: shutdown() retries
                self._retry = None

    def _retry_once(self) -> bool:
        with self._write_lock:
            if self._backlog and time.monotonic() >= self._retry_at:
                self._drain()
            return bool(self._backlog)

    def _reject(self, spans: int, error: BaseException) -> None:
        self.rejected_spans += spans
        self._warn_once(
            "rejected",
            "mlflow-trace-nb: a trace could not be written and was left out (%d spans so "
            "far; its neighbours were written): %s",
            self.rejected_spans,
            describe(error),
        )
