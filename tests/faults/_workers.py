"""Functions run in child processes by the process tests (importable under spawn)."""

from __future__ import annotations

import time
from typing import Any

import mlflow_trace_nb as mlflow


@mlflow.trace(span_type="TOOL")
def _square(x: int) -> int:
    return x * x


@mlflow.trace(name="task")
def traced_task(x: int) -> str:
    """A traced task with one child span; returns the id of the trace it made."""
    _square(x)
    span = mlflow.get_current_active_span()
    assert span is not None
    return span.trace_id


def put_trace_id_then_wait(queue: Any) -> None:
    """A ``Process`` target: trace, send the trace id, then linger until terminated."""
    queue.put(traced_task(3))
    time.sleep(60)
