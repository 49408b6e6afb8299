"""One generic batching worker: a bounded queue drained by one background thread.

``BatchWorker`` takes items (``SpanRecord``/``TraceRecord`` from the tracer, or anything a
sink queues) and hands them, in batches, to one ``export`` callable on its own thread. The
caller's path (``put``) is an addition, one comparison and an append.

Bounded in spans and bytes: ``put`` is given the item's span count; bytes are spans times
the bytes per span last measured (``sizing``, about once every ``_MEASURE_EVERY`` spans):
both bounds are one limit in spans.

A trace's own record (``TraceRecord``: its root and summary) may use up to twice the bound
before it too waits or is dropped, so a trace whose spans were dropped is still finalised.

When full: with ``block=True`` (the local pipeline) the producer waits until the writer has
caught up by half, so a burst slows down rather than losing anything; only a writer that
makes no progress for ``max_block_s`` makes producers drop (counted in ``dropped``,
``dropped_spans``, warned once and at shutdown). With ``block=False`` (a sink's own queue,
fed by the writer thread) what does not fit is dropped at once, counted.

``flush(timeout)`` puts a marker in the queue and waits for the worker to reach it. The fork
hook is registered through ``weakref.WeakMethod``: a worker no longer used can be collected
(``os.register_at_fork`` keeps its callables for the life of the process).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from mlflow_trace_nb._internal.fork_hooks import register_fork_hook
from mlflow_trace_nb._internal.progress_wait import wait_while_progressing
from mlflow_trace_nb._internal.records import TraceRecord, record_spans
from mlflow_trace_nb._internal.shutdown import is_finalizing, thread_runs, threads_allowed
from mlflow_trace_nb._internal.sizing import SPAN_BYTES, estimate_item
from mlflow_trace_nb._internal.tracer.context import untraced_thread

__all__ = ["BatchWorker"]

_logger = logging.getLogger("mlflow_trace_nb._internal.processing")


#: About one span in this many has its trace measured (its bytes per span used until the next).
_MEASURE_EVERY = 256


class _FlushMarker:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class BatchWorker:
    """A queue bounded in spans and bytes, drained in batches by one background thread."""

    def __init__(
        self,
        export: Callable[[list[Any]], None],
        *,
        interval_s: float = 0.5,
        max_batch: int = 2_000,
        max_batch_spans: int = 20_000,
        max_pending: int | None = None,
        max_pending_spans: int = 100_000,
        max_pending_bytes: int = 64 * 2**20,
        max_block_s: float = 30.0,
        block: bool = True,
        weigh: Callable[[Any], int] = record_spans,
        name: str = "writer",
    ) -> None:
        self._export = export
        self._interval_s = interval_s
        self._max_batch = max_batch
        self._max_batch_spans = max_batch_spans
        # Every item is at least one span, so a bound on items is a bound on spans too.
        self._max_spans = min(max_pending_spans, max_pending or max_pending_spans)
        self._max_pending = self._max_spans  # items never exceed spans
        self._max_bytes = max_pending_bytes
        self._max_block_s = max_block_s
        self._block = block
        self._weigh = weigh
        self.name = name
        self._items: deque[Any] = deque()
        self._wake = threading.Event()
        self._room = threading.Condition()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._busy = False
        self._inline = False  # writing on the caller at interpreter exit (see _write_inline)
        self._stopping = False
        self._stalled = False  # a producer timed out waiting; cleared by writer progress
        self._reset_counts()
        self.exported = 0
        self.failed = 0
        self.dropped = 0
        self.dropped_spans = 0
        register_fork_hook(self._after_fork)

    def _reset_counts(self) -> None:
        # Producers only add to _spans_in and the writer only to _spans_out, so the caller's
        # path takes no lock; the writer re-syncs them whenever it empties the queue, so a
        # rare lost update (a thread switch mid-increment) does not last.
        self._spans_in = self._spans_out = 0
        self._span_bytes = SPAN_BYTES
        self._next_check = 0  # the first put starts the writer thread
        self._next_measure = 0
        self._set_limit()

    def _set_limit(self) -> None:
        # Bytes are spans times the bytes per span last measured: both bounds are one limit.
        self._limit = max(1, min(self._max_spans, self._max_bytes // self._span_bytes))
        # Wake the writer before its interval only for a real backlog: during a short burst
        # it stays asleep, so the burst's own thread is not slowed by serialisation.
        self._wake_at = max(1, self._limit // 2)

    def put(self, item: Any, spans: int = 1) -> None:
        """Enqueue one item of ``spans`` spans; wait if the queue is full (back-pressure).

        The caller's path is an addition, one comparison and an append; ``_admit`` (start
        the writer, measure, wake it, wait) runs about once every ``_MEASURE_EVERY`` spans,
        and on every put once the queue is full. A dropped item is never appended.
        """
        if self._spans_in + spans >= self._next_check and not self._admit(item, spans):
            return
        self._items.append(item)
        self._spans_in += spans

    def _admit(
        self, item: Any, spans: int, _runs: Any = thread_runs, _allowed: Any = threads_allowed
    ) -> bool:
        """The slow part of ``put``; False when the item is dropped (counted). (The checks
        are bound as defaults: at finalization this module's globals may be cleared.)"""
        if not _runs(self._thread):
            if not _allowed():
                return self._write_inline(item, spans)
            try:
                self._start()
            except RuntimeError:
                return self._write_inline(item, spans)
        spans_in = self._spans_in + spans
        if spans_in >= self._next_measure:
            self._next_measure = spans_in + _MEASURE_EVERY
            self._measure(item, spans)
        admitted = True
        backlog = spans_in - self._spans_out
        if backlog >= self._wake_at:
            if not self._wake.is_set():
                self._wake.set()
            if (
                backlog >= self._limit
                # a trace's own record (its root, its summary) has room up to twice the bound
                and (type(item) is not TraceRecord or backlog >= 2 * self._limit)
                and (not self._block or not self._wait_for_room())
            ):
                self._drop(spans)
                admitted = False
        # the next check: where the writer must be woken or, awake, where the bound is hit
        due = self._limit if backlog >= self._wake_at else self._wake_at
        self._next_check = min(self._next_measure, self._spans_out + due)
        return admitted

    def progress(self) -> tuple[int, int, int]:
        """Counters that change as the worker takes and exports batches."""
        return self._spans_out, self.exported, self.failed

    def put_nowait(self, items: list[Any]) -> None:
        """Append ``items`` without any check, lock or wake (for finalizers, which may run
        inside any code, the writer's own included); the next put or flush writes them."""
        spans = sum(self._weigh(item) for item in items)
        self._items.extend(items)
        self._spans_in += spans

    def pending(self) -> int:
        """Items enqueued and not yet exported (including a batch being written)."""
        return len(self._items) + (1 if self._busy else 0)

    def stats(self) -> dict[str, int]:
        """Counters: items exported/failed/dropped, spans dropped, spans and bytes pending
        (bytes estimated), and the current limit in spans."""
        spans = max(0, self._spans_in - self._spans_out)
        return {
            "exported": self.exported,
            "failed": self.failed,
            "dropped": self.dropped,
            "dropped_spans": self.dropped_spans,
            "pending_spans": spans,
            "pending_bytes": spans * self._span_bytes,
            "limit_spans": self._limit,
        }

    def flush(
        self,
        timeout: float | None = 10.0,
        *,
        stall_s: float | None = None,
        progress: Callable[[], object] | None = None,
    ) -> bool:
        """Block until all enqueued so far is exported; False on timeout, or, with ``stall_s``,
        once ``progress()`` (default: the worker's counters) has not changed for that long."""
        if not self._items and not self._busy:
            return True
        if not thread_runs(self._thread):
            try:
                self._start()
            except RuntimeError:  # no new threads at interpreter shutdown: write inline
                if is_finalizing() or (self._busy and not self._inline):
                    return False  # exporters cannot work now (see _write_inline)
                self._drain()
                return True
        marker = _FlushMarker()
        self._items.append(marker)
        self._wake.set()
        if stall_s is None:
            return marker.done.wait(timeout)
        return wait_while_progressing(marker.done, progress or self.progress, timeout, stall_s)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Flush and stop the writer thread; report what was dropped during the session."""
        self.flush(timeout)
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None
        self._next_check = 0
        self._stopping = False
        if self.dropped:
            _logger.warning(
                "mlflow-trace-nb: %d records (%d spans) were dropped during the session "
                "because the trace writer was stalled",
                self.dropped,
                self.dropped_spans,
            )

    # Internals --------------------------------------------------------------------------
    def _measure(self, item: Any, count: int) -> None:
        per_span = max(SPAN_BYTES // 2, estimate_item(item)[1] // max(1, count))
        if per_span != self._span_bytes:
            self._span_bytes = per_span
            self._set_limit()

    def _write_inline(self, item: Any, spans: int, _finalizing: Any = is_finalizing) -> bool:
        """At interpreter exit, with no writer thread that can run (none may be started):
        write ``item`` on the calling thread (``atexit`` handlers), or drop it with a count
        once the interpreter is finalizing: exporters can no longer work then (their lazy
        imports fail once ``sys.modules`` is emptied, a remote one's sender thread would
        never start), nor while the writer stopped mid-batch, maybe holding a lock.
        Returns False: ``put`` must not append it."""
        self._next_check = 0  # every later put comes here too
        if _finalizing() or (self._busy and not self._inline):
            self._drop_at_exit(spans, type(item) is TraceRecord)
            return False
        self._items.append(item)
        self._spans_in += spans
        if self._inline:  # a finalizer run inside our own write: the loop below takes it
            return False
        self._inline = True
        try:
            self._drain()
        finally:
            self._inline = False
        return False

    def _drop_at_exit(self, spans: int, trace: bool, _sys: Any = sys) -> None:
        # ``_sys`` is bound now: at finalization this module's globals may be cleared
        self.dropped += 1
        self.dropped_spans += spans
        message = (
            f"mlflow-trace-nb: {f'a trace of {spans} spans' if trace else 'a span'} ended "
            "while the interpreter was "
            f"exiting and could not be written ({self.dropped} dropped)\n"
        )
        try:  # logging may be torn down by now: straight to stderr
            stderr = _sys.stderr
            if stderr is not None:
                stderr.write(message)
        except Exception:
            pass

    def _start(self) -> None:
        if not threads_allowed():  # Thread.start() would never return (see _internal.shutdown)
            raise RuntimeError("no new threads at interpreter exit")
        with self._start_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            thread = threading.Thread(
                target=self._run, name=f"mlflow-trace-nb-{self.name}", daemon=True
            )
            thread.start()
            self._thread = thread

    def _run(self) -> None:
        untraced_thread()  # what it runs (a sink, a __repr__) is never the user's work
        while True:
            self._wake.wait(self._interval_s)
            self._wake.clear()
            self._drain()
            if self._stopping and not self._items:
                return

    def _take(self) -> tuple[list[Any], _FlushMarker | None]:
        items = self._items
        batch: list[Any] = []
        spans = 0
        marker: _FlushMarker | None = None
        weigh = self._weigh
        while items and len(batch) < self._max_batch and spans < self._max_batch_spans:
            item = items.popleft()
            if type(item) is _FlushMarker:
                marker = item
                break
            batch.append(item)
            spans += weigh(item)
        self._spans_out += spans
        return batch, marker

    def _drain(self) -> None:
        items = self._items
        while items:
            self._busy = True  # set before popping: flush() checks items, then busy
            batch, marker = self._take()
            if batch:
                self._export_safely(batch)
            self._busy = False
            self._stalled = False
            if not items:  # re-sync the lock-free counters (see _reset_counts)
                self._spans_out = self._spans_in
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
        blocking the user's code for good or letting memory grow without bound. Once one
        wait has timed out, others over the bound do not wait again until the writer has
        made progress.
        """
        if self._stalled:
            return False
        deadline = time.monotonic() + self._max_block_s
        with self._room:
            while self._spans_in - self._spans_out > self._wake_at:
                thread = self._thread
                if thread is threading.current_thread():
                    return True  # an exporter tracing itself: never wait on ourselves
                if thread is None or not thread.is_alive():
                    self._start()
                if time.monotonic() >= deadline:
                    self._stalled = True
                    return False
                self._wake.set()
                self._room.wait(0.05)
        return True

    def _drop(self, count: int) -> None:
        self.dropped += 1
        self.dropped_spans += count
        log = _logger.warning if self.dropped == 1 else _logger.debug
        log(
            "mlflow-trace-nb: the trace writer is stalled (%d spans pending for %.0f s); "
            "dropped %d spans (%d records so far) instead of blocking the traced code",
            self._spans_in - self._spans_out,
            self._max_block_s,
            count,
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
        self._inline = False
        self._stalled = False
        self._reset_counts()
