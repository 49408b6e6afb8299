"""The trace this process (or this thread) finished most recently."""

from __future__ import annotations

from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb.entities import Trace

__all__ = ["get_last_active_trace", "get_last_active_trace_id"]


def get_last_active_trace() -> Trace | None:
    """Return the trace this process finished most recently, or None."""
    live = RUNTIME.last_trace
    if live is None:
        return None
    RUNTIME.flush_for_read()
    stored = RUNTIME.store.get_trace(live.request_id)
    return stored if stored is not None else live.to_trace()


def get_last_active_trace_id(thread_local: bool = False) -> str | None:
    """The id of the trace this process finished most recently, or None (MLflow 3). With
    ``thread_local=True``, the one the calling thread finished most recently."""
    live = getattr(RUNTIME.thread_last, "trace", None) if thread_local else RUNTIME.last_trace
    return None if live is None else live.request_id
