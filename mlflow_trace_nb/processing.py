"""From finished spans to exporters: the write-behind queue.

The tracer never does I/O. When a trace's root span ends, the trace (``LiveTrace``) is
appended to a ``deque``; a daemon thread wakes every ``interval_s`` (0.5 s, so a finished
trace is durable well within a second), at once on ``flush``, or early when half the queue
bound is pending; it takes up to ``max_batch`` items at a time and hands them to the
exporters, which serialise and write them (the SQLite store writes a batch in one
transaction). Waking rarely keeps the writer out of the way of a burst of traced calls: the
serialisation it does holds the GIL, and doing it after the burst costs the caller nothing.

Back-pressure instead of loss: when more than ``max_pending`` items wait, the producing thread
waits until the writer has caught up by half, so a burst of traces slows the producer down
rather than growing memory without bound or dropping anything. Only a writer that makes no
progress for ``max_block_s`` (an exporter hung on a lock held by another process, say) makes
the producer drop its trace instead, with a warning and a count (``dropped``): tracing must
never hang the traced code. A flush puts a marker in the
queue and waits for the writer to reach it, so it covers everything enqueued before it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

__all__ = ["Exporter", "WriteBehindQueue"]

_logger = logging.getLogger(__name__)


class Exporter(Protocol):
    """Something that receives batches of finished traces (``LiveTrace``) and late spans."""

    def export(self, items: Sequence[Any]) -> None:
        """Write or send ``items``. Failures may raise; the queue logs and carries on."""

    def shutdown(self) -> None:
        """Release resources (connections, threads)."""


class _FlushMarker:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class WriteBehindQueue:
    """A bounded queue drained by one background thread into ``export``."""

    def __init__(
        self,
        export: Callable[[list[Any]], None],
        *,
        interval_s: float = 0.5,
        max_batch: int = 2_000,
        max_pending: int = 20_000,
        max_block_s: float = 30.0,
    ) -> None:
        self._export = export
        self._interval_s = interval_s
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._max_block_s = max_block_s
        # Wake the writer before its interval only for a real backlog: during a short burst
        # it stays asleep, so the burst's own thread is not slowed by serialisation.
        self._early_wake = max(1, max_pending // 2)
        self._items: deque[Any] = deque()
        self._wake = threading.Event()
        self._room = threading.Condition()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._busy = False
        self._stopping = False
        self.exported = 0
        self.failed = 0
        self.dropped = 0
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)

    def put(self, item: Any) -> None:
        """Enqueue one item; wait if the queue is full (back-pressure)."""
        items = self._items
        items.append(item)
        if self._thread is None:
            self._start()
        pending = len(items)
        if pending >= self._early_wake:
            if not self._wake.is_set():
                self._wake.set()
            if pending >= self._max_pending and not self._wait_for_room():
                self._drop(item)

    def pending(self) -> int:
        """Items enqueued and not yet exported (including a batch being written)."""
        return len(self._items) + (1 if self._busy else 0)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Block until everything enqueued so far is exported; False on timeout."""
        if not self._items and not self._busy:
            return True
        thread = self._thread
        if thread is None or not thread.is_alive():
            try:
                self._start()
            except RuntimeError:  # no new threads at interpreter shutdown: write inline
                self._drain()
                return True
        marker = _FlushMarker()
        self._items.append(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Flush and stop the writer thread."""
        self.flush(timeout)
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None
        self._stopping = False

    # Internals --------------------------------------------------------------------------
    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            thread = threading.Thread(target=self._run, name="mlflow-trace-nb-writer", daemon=True)
            thread.start()
            self._thread = thread

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval_s)
            self._wake.clear()
            self._drain()
            if self._stopping and not self._items:
                return

    def _drain(self) -> None:
        items = self._items
        while items:
            self._busy = True  # set before popping: flush() checks items, then busy
            batch: list[Any] = []
            marker: _FlushMarker | None = None
            while items and len(batch) < self._max_batch:
                item = items.popleft()
                if type(item) is _FlushMarker:
                    marker = item
                    break
                batch.append(item)
            if batch:
                self._export_safely(batch)
            self._busy = False
            if marker is not None:
                marker.done.set()
            with self._room:
                self._room.notify_all()

    def _export_safely(self, batch: list[Any]) -> None:
        try:
            self._export(batch)
            self.exported += len(batch)
        except BaseException:  # anything, or the writer thread would die with it
            self.failed += len(batch)
            if self.failed == len(batch):  # first failure: say it once, loudly enough
                _logger.warning("mlflow-trace-nb: could not write traces", exc_info=True)
            else:
                _logger.debug("mlflow-trace-nb: could not write traces", exc_info=True)

    def _wait_for_room(self) -> bool:
        """Wait (at most ``max_block_s``) until the writer has drained half the queue.

        Returns False if the writer is stuck: then the caller drops its item rather than
        blocking the user's code for good or letting memory grow without bound.
        """
        low_water = self._max_pending // 2
        deadline = time.monotonic() + self._max_block_s
        with self._room:
            while len(self._items) > low_water:
                thread = self._thread
                if thread is threading.current_thread():
                    return True  # an exporter tracing itself: never wait on ourselves
                if thread is None or not thread.is_alive():
                    self._start()
                if time.monotonic() >= deadline:
                    return False
                self._wake.set()
                self._room.wait(0.05)
        return True

    def _drop(self, item: Any) -> None:
        try:
            self._items.remove(item)
        except ValueError:  # already taken by the writer after all
            return
        self.dropped += 1
        log = _logger.warning if self.dropped == 1 else _logger.debug
        log(
            "mlflow-trace-nb: the trace writer is stalled (%d items pending for %.0f s); "
            "dropped a trace (%d so far) instead of blocking the traced code",
            len(self._items),
            self._max_block_s,
            self.dropped,
        )

    def _after_fork(self) -> None:
        # The writer thread does not exist in the child; items inherited from the parent
        # belong to the parent (it writes them), so the child starts empty.
        self._items = deque()
        self._wake = threading.Event()
        self._room = threading.Condition()
        self._start_lock = threading.Lock()
        self._thread = None
        self._busy = False
