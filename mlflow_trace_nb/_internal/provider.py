"""The provider: configuration, the registered sinks and the pipeline's batch worker.

One ``Provider`` object (as OpenTelemetry's ``TracerProvider``) holds the configuration the
tracer reads on its hot path (``enabled``, ``sampling_rate``, ``experiment_id``,
``span_end_hooks``), the sinks finished records go to (the local store, remote exporters:
``sinks``, ``add_sink``, ``set_destinations``) and the one ``BatchWorker`` that feeds them.
``DEFAULT_PROVIDER`` is the process's instance; ``runtime.RUNTIME`` is the same object under
its older name. Opening the store and starting the worker happen lazily, the first time a
span ends or a query runs.

The pipeline: tracer -> ``SpanRecord`` per ended span (``submit_span``), plus a
``TraceRecord`` when a root ends (``submit_trace``) -> ``BatchWorker`` -> each sink's
``export(records)``.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal import processes
from mlflow_trace_nb._internal.batch import BatchWorker
from mlflow_trace_nb._internal.processing import Exporter
from mlflow_trace_nb._internal.records import SpanRecord, TraceRecord
from mlflow_trace_nb.errors import report_internal_error

if TYPE_CHECKING:
    from mlflow_trace_nb.store.sqlite import SqliteStore

__all__ = ["DEFAULT_DB_FILE", "DEFAULT_PROVIDER", "DESTINATION_ENV", "Provider"]

LiveSpan = Any  # tracer.live_span.LiveSpan (not imported: the tracer imports this module)
LiveTrace = Any  # tracer.live_trace.LiveTrace

_logger = logging.getLogger(__name__)
#: A query waits for pending traces to be written (up to ``READ_FLUSH_S``) while the local
#: store works, however long a big batch takes; once the store is waiting out a fault (locked
#: by another program, say), no longer than ``READ_STALL_S`` without progress: such a store
#: must not hold every query up, and the query then shows what is on disk.
READ_FLUSH_S = 60.0
READ_STALL_S = 1.0

#: Environment variable naming the default destination (``memory``, ``sqlite:///path.db``
#: or a file path).
DESTINATION_ENV = "MLFLOW_TRACE_NB_DESTINATION"
#: File created in the working directory when nothing else is configured.
DEFAULT_DB_FILE = "mlflow_traces.db"


#: Experiment new traces go to unless ``set_experiment``/``enable`` says otherwise.
DEFAULT_EXPERIMENT_ID = keys.DEFAULT_EXPERIMENT_ID


def _default_store() -> SqliteStore:
    # The store (sqlite3, serialisation) is imported on first use, not with the package.
    from mlflow_trace_nb._internal.destination import parse_destination
    from mlflow_trace_nb.store.sqlite import SqliteStore

    configured = os.environ.get(DESTINATION_ENV, "").strip()
    if configured:
        try:
            stores = [d for d in parse_destination(configured) if isinstance(d, SqliteStore)]
            if stores:
                return stores[0]
        except ValueError as error:
            _logger.warning("mlflow-trace-nb: ignoring %s: %s", DESTINATION_ENV, error)
    return SqliteStore(DEFAULT_DB_FILE)


class Provider:
    """Configuration, sinks and the batch worker that gets finished records to the sinks."""

    def __init__(self) -> None:
        self.span_end_hooks: list[Callable[[LiveSpan], None]] = []
        self.trace_end_hooks: list[Callable[[LiveTrace], None]] = []
        self.trace_start_hooks: list[Callable[[LiveTrace], None]] = []
        self._store: SqliteStore | None = None
        self._exporters: list[Exporter] | None = None
        self._queue: BatchWorker | None = None
        self._retiring: list[Any] = []  # former remote destinations still draining
        self.last_trace: LiveTrace | None = None
        #: ``thread_last.trace``: the trace the current thread finished most recently.
        self.thread_last = threading.local()
        #: Write each trace before its root's end returns (a plain os.fork() child, which
        #: may leave with os._exit(); see ``processes``).
        self.write_through = False
        self.reset_config()

    def reset_config(self) -> None:
        """Back to defaults: enabled, sample everything, propagation on, default experiment."""
        self.enabled = True
        self.sampling_rate = 1.0
        self.disable_propagation = False
        self.experiment_id = DEFAULT_EXPERIMENT_ID
        self.tracking_uri: str | None = None  # an MLflow server reads go to (None: local)

    # Destinations -----------------------------------------------------------------------
    @property
    def store(self) -> SqliteStore:
        """The local store traces are queried from (created on first use)."""
        if self._store is None:
            self._store = _default_store()
        return self._store

    @property
    def exporters(self) -> list[Exporter]:
        """Where finished traces go (the local store unless ``set_destination`` said else)."""
        if self._exporters is None:
            self._exporters = [self.store]
        return self._exporters

    def set_destinations(self, destinations: Sequence[Any]) -> None:
        """Flush what is pending to the old destinations, then switch to the new ones."""
        from mlflow_trace_nb.store.sqlite import MEMORY, SqliteStore

        self.flush()
        old = self._exporters or []
        stores = [d for d in destinations if isinstance(d, SqliteStore)]
        self._store = stores[0] if stores else SqliteStore(MEMORY)
        self._exporters = list(destinations)
        self._retire([e for e in old if e not in self._exporters])

    @property
    def sinks(self) -> list[Exporter]:
        """The registered sinks (the same list as ``exporters``)."""
        return self.exporters

    def add_sink(self, sink: Exporter) -> None:
        """Register one more sink (after what is pending has gone to the current ones)."""
        self.flush()
        self._exporters = [*self.exporters, sink]

    def remove_sink(self, sink: Exporter) -> None:
        """Unregister ``sink`` (flushed and shut down; a remote one drains on its own)."""
        self.flush()
        self._exporters = [e for e in self.exporters if e is not sink]
        self._retire([sink])

    def reset_destinations(self) -> None:
        """Go back to the default destination (environment variable or working directory)."""
        self.flush()
        self._retire(self._exporters or [])
        self._store = None
        self._exporters = None

    # Queue ------------------------------------------------------------------------------
    @property
    def queue(self) -> BatchWorker:
        """The pipeline's batch worker (its thread starts with the first span)."""
        if self._queue is None:
            self._queue = BatchWorker(self._export)
            _flush_in_multiprocessing_children(self)
        return self._queue

    def _export(self, items: list[Any]) -> None:
        error: BaseException | None = None
        for exporter in self.exporters:
            try:
                exporter.export(items)
            except Exception as exc:  # one broken exporter must not starve the others
                error = exc
        if error is not None:
            raise error

    def submit_span(self, record: SpanRecord) -> None:
        """Called when a span (not a root) ends: its record joins the queue."""
        (self._queue or self.queue).put(record, 1)

    def submit_trace(self, trace: LiveTrace, record: TraceRecord) -> None:
        """Called when a trace's root span ends (``record``: the trace's, made by
        ``live_trace.trace_record_of``)."""
        previous = self.last_trace
        self.last_trace = self.thread_last.trace = trace
        if self.trace_end_hooks:
            self._run_trace_end_hooks(trace)
        if previous is not None and not previous.kept:  # (set here only once it ended)
            # no view keeps it (the last trace stays whole for get_last_*): LiveTrace.release
            if previous.manual:  # may keep spans still open (span_leaks.ManualTrace)
                previous.release()
            else:  # inlined: the end of every root runs this
                previous.spans.clear()
                previous.root = None
        (self._queue or self.queue).put(record, 1)

    def _run_trace_end_hooks(self, trace: LiveTrace) -> None:
        for hook in self.trace_end_hooks:
            try:
                hook(trace)
            except Exception:
                report_internal_error("trace-end hook")

    def flush_for_read(self, timeout: float = READ_FLUSH_S) -> bool:
        """Before a read: write what is pending to the local store while the writer makes
        progress (see ``READ_STALL_S``), for at most ``timeout`` s; a store waiting out a
        fault makes no attempt before its retry is due. True when all of it was written."""
        queue = self._queue
        stall_s = min(READ_STALL_S, timeout)
        store = self._store
        waiting_out = getattr(store, "waiting_out_fault", None)

        def progress() -> object:
            assert queue is not None
            if callable(waiting_out) and waiting_out():
                return queue.progress()
            return time.monotonic()  # a working store: always progress

        done = True if queue is None else queue.flush(timeout, stall_s=stall_s, progress=progress)
        exporters = self._exporters
        if exporters:
            deadline = time.monotonic() + stall_s
            done = _flush_exporters(exporters, deadline, remote=False, local="flush_due") and done
        return done

    def flush(self, timeout: float | None = 10.0, include_remote: bool = False) -> bool:
        """Write everything pending to the local store; True when done within ``timeout`` s.

        Reads and the end-of-cell flush call this as it is: they never wait for a remote
        destination (a hung OTLP endpoint must not stall a notebook). ``include_remote=True``
        (the public ``flush()``) then also waits, within the same ``timeout``, until remote
        exporters have sent what they were given.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        queue = self._queue
        done = True if queue is None else queue.flush(timeout)
        exporters = self._exporters
        if exporters:
            # a local store with a flush() of its own (a backlog kept while its file could
            # not be written) is local work; remote exporters only when asked
            local = "flush_until" if include_remote else "flush"  # only yours keeps trying
            done = _flush_exporters(exporters, deadline, remote=False, local=local) and done
            if include_remote:
                done = _flush_exporters(exporters, deadline, remote=True) and done
        return done

    def shutdown(self) -> None:
        """At interpreter exit: flush the local queue, then give remote exporters one bounded
        drain (together at most ``exit_timeout_s`` of the slowest, 5 s by default, or
        ``MLFLOW_TRACE_NB_REMOTE_EXIT_TIMEOUT``); each reports what it could not send."""
        try:
            if self._queue is not None:
                self._queue.shutdown()
            exporters = list(self._exporters or []) + list(self._retiring)
            _shutdown_all(exporters, _remote_exit_timeout())
        except Exception:
            _logger.debug("mlflow-trace-nb: flush at exit failed", exc_info=True)

    def _retire(self, exporters: Sequence[Any]) -> None:
        """Shut down exporters that are no longer destinations without waiting for remote
        ones: those drain in the background (bounded by their own exit timeout) and are
        waited for, within the exit budget, at interpreter exit."""
        for exporter in exporters:
            if not _is_remote(exporter):
                _shutdown_quietly(exporter)
                continue
            self._retiring.append(exporter)
            try:
                threading.Thread(
                    target=self._retire_one,
                    args=(exporter,),
                    name="mlflow-trace-nb-retire",
                    daemon=True,
                ).start()
            except RuntimeError:  # no new threads at interpreter shutdown
                self._retire_one(exporter, 0.0)

    def _retire_one(self, exporter: Any, timeout: float | None = None) -> None:
        _shutdown_quietly(exporter, timeout)
        with contextlib.suppress(ValueError):
            self._retiring.remove(exporter)


def _after_fork_in_child() -> None:
    # A module-level function (no bound method keeping a Runtime alive); see ``processes``.
    try:
        processes.after_fork_in_child(RUNTIME)
    except Exception:
        _logger.debug("mlflow-trace-nb: after-fork hook failed", exc_info=True)


def _flush_in_multiprocessing_children(runtime: Provider) -> None:
    # In a multiprocessing child (a spawned one imports the package afresh): flush before
    # every send to another process and at the child's exit (see ``processes``).
    if "multiprocessing" in sys.modules:
        processes.prepare_multiprocessing_child(runtime)


#: Environment variable: seconds remote exporters get, together, to drain at exit.
REMOTE_EXIT_TIMEOUT_ENV = "MLFLOW_TRACE_NB_REMOTE_EXIT_TIMEOUT"


def _remote_exit_timeout() -> float | None:
    text = os.environ.get(REMOTE_EXIT_TIMEOUT_ENV, "").strip()
    if not text:
        return None  # each exporter's own exit_timeout_s (5 s by default)
    try:
        return max(0.0, float(text))
    except ValueError:
        _logger.warning("mlflow-trace-nb: ignoring %s=%r", REMOTE_EXIT_TIMEOUT_ENV, text)
        return None


def _is_local(exporter: Any) -> bool:
    from mlflow_trace_nb.store.sqlite import SqliteStore

    return isinstance(exporter, SqliteStore)


def _is_remote(exporter: Any) -> bool:
    # Remote exporters (OTLP, MLflow servers, custom ones with a queue of their own) have
    # a flush(); the local store is never one, even when it has a flush() too.
    return callable(getattr(exporter, "flush", None)) and not _is_local(exporter)


def _flush_exporters(
    exporters: list[Exporter], deadline: float | None, remote: bool, local: str = "flush"
) -> bool:
    """Flush the remote (or the local) exporters that have a ``flush``, all within
    ``deadline`` (a ``time.monotonic()`` value; None waits as long as it takes). ``local``
    names the local store's method: ``flush_due`` (before a read: no attempt before a retry
    is due) or ``flush_until`` (the public flush: attempts until the deadline)."""
    done = True
    for exporter in exporters:
        flush = getattr(exporter, "flush", None)
        if not callable(flush) or _is_local(exporter) == remote:
            continue
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            chosen = None if remote else getattr(exporter, local, None)
            done = bool((chosen if callable(chosen) else flush)(remaining)) and done
        except Exception:
            _logger.debug("mlflow-trace-nb: exporter flush failed", exc_info=True)
            done = False
    return done


def _shutdown_all(exporters: list[Any], budget: float | None) -> None:
    """Shut exporters down; remote ones drain at once (each on its own thread), so the whole
    takes at most the largest exit timeout (or ``budget``), not their sum."""
    start = time.monotonic()
    for exporter in exporters:
        if not _is_remote(exporter):
            _shutdown_quietly(exporter)
            continue
        own = getattr(getattr(exporter, "sender", None), "exit_timeout_s", None)
        limit = own if budget is None else (budget if own is None else min(own, budget))
        if limit is None:
            _shutdown_quietly(exporter)
        else:
            _shutdown_quietly(exporter, max(0.0, start + limit - time.monotonic()))


def _shutdown_quietly(exporter: Any, timeout: float | None = None) -> None:
    try:
        if timeout is not None and _takes_timeout(exporter.shutdown):
            exporter.shutdown(timeout)
        else:
            exporter.shutdown()
    except Exception:
        _logger.debug("mlflow-trace-nb: exporter shutdown failed", exc_info=True)


def _takes_timeout(method: Any) -> bool:
    """Whether ``shutdown`` accepts a timeout (ours do; a custom exporter's may not)."""
    import inspect

    try:
        inspect.signature(method).bind(0.0)
        return True
    except (TypeError, ValueError):
        return False


_new = tuple.__new__
DEFAULT_PROVIDER = Provider()
RUNTIME = DEFAULT_PROVIDER
atexit.register(DEFAULT_PROVIDER.shutdown)
if hasattr(os, "register_at_fork"):  # forked children, multiprocessing's among them
    os.register_at_fork(before=processes.before_fork, after_in_child=_after_fork_in_child)
