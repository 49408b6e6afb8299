"""Run the same traced code under this package and under real MLflow."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import mlflow_trace_nb


def traced_by_both(real_mlflow: Any, define: Callable[[Any], Callable[[], Any]]) -> tuple[Any, Any]:
    """(ours, theirs): the trace of ``define(module)()`` run with each package."""
    traces = []
    for module in (mlflow_trace_nb, real_mlflow):
        run = define(module)
        with contextlib.suppress(ValueError):  # a test's function may fail on purpose
            run()
        trace = module.get_trace(module.get_last_active_trace_id())
        assert trace is not None
        traces.append(trace)
    return traces[0], traces[1]
