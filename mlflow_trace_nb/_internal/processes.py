"""Tracing in processes made by ``os.fork()`` and ``multiprocessing``.

``fork()`` copies everything into the child: open traces, the write-behind queue, the active
span. What the tracer does about it:

- **Nothing is written twice.** The child's queue starts empty (``processing``), and a trace
  begun before the fork is never submitted by the child (``LiveTrace.generation``): the
  parent writes it.
- **Work under an open span continues its trace.** A span the child starts under a span that
  was open at the fork becomes the local root of a *fragment* of that trace: same trace id,
  the open span as its parent; the store merges fragments into the trace (as for a
  ``traceparent`` header). The trace id is drawn just before the fork so both processes
  agree on it. So a ``Pool`` forked inside an open span puts its tasks' traces under that
  span (workers it re-forks later, from its own thread, start fresh traces; spawned and
  forkserver workers always do).
- **A plain ``os.fork()`` child writes each trace when it ends** ("write-through": the
  root span's end returns once the trace is stored), since such a child often leaves with
  ``os._exit()``, which runs no exit handler.

Children of ``multiprocessing`` (fork, spawn or forkserver: ``Pool``, ``ProcessPoolExecutor``,
``Process``) are handled differently, and more cheaply. ``Pool.terminate()``, which is what
``with Pool() as pool:`` does on exit, kills the workers with SIGTERM as soon as the results
are in, so a worker's queued traces would die with it. In such a child, anything it sends to
another process (a task's result, a ``Queue`` item, a ``Pipe`` message; all pickled by
``multiprocessing.reduction.ForkingPickler.dumps``) is preceded by a flush: the traces a
task finished are stored before its result reaches the parent. A send with nothing new to
write costs two attribute reads. At a child's normal end, ``multiprocessing``'s finalizers
flush the rest. Under spawn the package is imported afresh in the child; the hooks are
installed when its first trace ends (or, under fork, when ``multiprocessing`` starts the
child), in every case before the task that made the trace returns its result. A spawned
child knows only its environment: it writes where ``MLFLOW_TRACE_NB_DESTINATION`` says (a
``set_destination()`` call in the parent does not reach it); forked children inherit it.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

from mlflow_trace_nb._internal.tracer.context import CURRENT_SPAN

Runtime = Any  # provider.Provider (not imported: the provider imports this module)

__all__ = [
    "SEND_FLUSH_TIMEOUT_S",
    "after_fork_in_child",
    "before_fork",
    "in_multiprocessing_child",
    "prepare_multiprocessing_child",
]

_logger = logging.getLogger(__name__)

#: Longest a multiprocessing child waits for its traces to be stored before a send.
SEND_FLUSH_TIMEOUT_S = 10.0
_MARK = "_mlflow_trace_nb_flushes"
_prepared_pid: int | None = None  # the process whose multiprocessing hooks are installed
_flushed_at = -1  # the queue's export count at the last flush before a send


def before_fork() -> None:
    """Draw the trace id of the active span's trace, so parent and child agree on it."""
    try:
        span = CURRENT_SPAN.get()
        if span is not None and span._recording:
            span._state.trace_id_int  # noqa: B018 (drawn on first read)
    except Exception:
        _logger.debug("mlflow-trace-nb: before-fork hook failed", exc_info=True)


def after_fork_in_child(runtime: Runtime) -> None:
    """In a forked child: disown the parent's open traces, write through, and let
    ``multiprocessing`` switch to its cheaper mode if it started this child."""
    live_trace = sys.modules.get("mlflow_trace_nb._internal.tracer.live_trace")
    if live_trace is not None:
        live_trace.LiveTrace.process_generation += 1
    runtime.write_through = True
    runtime.last_trace = None  # the parent's: get_last_active_trace() is about this process
    runtime.thread_last = threading.local()
    _renew_store_locks(runtime)
    if "multiprocessing" in sys.modules:
        try:
            from multiprocessing import util

            # multiprocessing clears its finalizers in a new child *after* the os-level fork
            # hooks, then runs these callbacks (not at all after a plain os.fork()).
            util.register_after_fork(runtime, in_multiprocessing_child)
        except Exception:
            _logger.debug("mlflow-trace-nb: no multiprocessing child hooks", exc_info=True)


def _renew_store_locks(runtime: Runtime) -> None:
    # A store checks for a fork only after taking its write lock; had the parent's writer
    # thread held that lock at the fork, the child would wait on it for ever. Renew now.
    stores = [runtime._store, *(runtime._exporters or ())]
    for store in {id(s): s for s in stores if s is not None}.values():
        check = getattr(store, "_check_fork", None)
        if callable(check):
            try:
                check()
            except Exception:
                _logger.debug("mlflow-trace-nb: store fork check failed", exc_info=True)


def in_multiprocessing_child(runtime: Runtime) -> None:
    """Run by ``multiprocessing`` in a forked child before its target: flush before sends
    and at exit instead of writing each trace through."""
    runtime.write_through = False
    _prepare(runtime)


def prepare_multiprocessing_child(runtime: Runtime) -> None:
    """Install the child hooks if this is a ``multiprocessing`` child (any start method)."""
    mp = sys.modules.get("multiprocessing")
    try:
        if mp is not None and mp.parent_process() is not None:
            _prepare(runtime)
    except Exception:
        _logger.debug("mlflow-trace-nb: no multiprocessing child hooks", exc_info=True)


def _prepare(runtime: Runtime) -> None:
    global _prepared_pid
    pid = os.getpid()
    if _prepared_pid == pid:
        return
    _prepared_pid = pid
    try:
        from multiprocessing import util

        # A child ends with os._exit(), which skips atexit but runs these finalizers.
        util.Finalize(None, runtime.shutdown, exitpriority=100)
        _install_send_flush(runtime)
    except Exception:
        _logger.debug("mlflow-trace-nb: no multiprocessing child hooks", exc_info=True)


def _install_send_flush(runtime: Runtime) -> None:
    from multiprocessing import reduction

    pickler = reduction.ForkingPickler
    original = pickler.__dict__.get("dumps")
    func = getattr(original, "__func__", None)
    if func is None or getattr(func, _MARK, False):
        return

    def dumps(cls: Any, obj: Any, protocol: Any = None) -> Any:
        _flush_before_send(runtime)
        return func(cls, obj, protocol)

    setattr(dumps, _MARK, True)
    dumps.__wrapped__ = func  # type: ignore[attr-defined]
    pickler.dumps = classmethod(dumps)  # type: ignore[method-assign,assignment]


def _flush_before_send(runtime: Runtime) -> None:
    """Store this process's finished traces before it sends anything to another process."""
    global _flushed_at
    try:
        queue = runtime._queue
        if queue is None or (queue.exported == _flushed_at and not queue.pending()):
            return
        if getattr(queue, "_thread", None) is threading.current_thread():
            return  # the writer itself sending something: never wait on ourselves
        runtime.flush(SEND_FLUSH_TIMEOUT_S)
        _flushed_at = queue.exported
    except Exception:
        _logger.debug("mlflow-trace-nb: flush before a send failed", exc_info=True)
