"""Reading traces back: ``search_traces``, ``search_spans``, ``get_trace``,
``get_last_active_trace`` and ``flush``.

Every read first flushes what this process has pending (a no-op when nothing is), so code
that searches right after a traced call sees that call, with no sleep.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from mlflow_trace_nb.entities import Trace
from mlflow_trace_nb.runtime import RUNTIME

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["flush", "get_last_active_trace", "get_trace", "search_spans", "search_traces"]


def flush(timeout: float | None = 10.0) -> bool:
    """Write every finished trace now; returns False if ``timeout`` seconds were not enough."""
    return RUNTIME.flush(timeout)


def _experiment_keys(experiment_ids: Sequence[Any] | str | int | None) -> list[int] | None:
    if experiment_ids is None:
        experiment_ids = [RUNTIME.experiment_id]
    elif isinstance(experiment_ids, (str, int)):
        experiment_ids = [experiment_ids]
    keys = []
    for value in experiment_ids:
        try:
            keys.append(int(value))
        except (TypeError, ValueError):
            raise ValueError(f"experiment id {value!r} is not a valid experiment id") from None
    return keys


def _find(
    experiment_ids: Sequence[Any] | str | int | None,
    filter_string: str | None,
    max_results: int | None,
    order_by: Sequence[str] | None,
) -> list[Trace]:
    if max_results is not None and (not isinstance(max_results, int) or max_results < 0):
        raise ValueError(f"max_results must be a non-negative integer, got {max_results!r}")
    from mlflow_trace_nb.query.sql import compile_filter, compile_order_by

    if isinstance(order_by, str):
        order_by = [order_by]
    where, params = compile_filter(filter_string)
    order = compile_order_by(list(order_by) if order_by else None)
    RUNTIME.flush()
    return RUNTIME.store.search(
        experiment_ids=_experiment_keys(experiment_ids),
        where=where,
        params=params,
        order_by=order,
        limit=max_results,
    )


def search_traces(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
    return_type: Literal["pandas", "list"] = "pandas",
) -> pd.DataFrame | list[Trace]:
    """Search traces; a DataFrame (one row per trace, newest first) or a list of ``Trace``.

    Args:
        experiment_ids: experiments to search (default: the active experiment).
        filter_string: e.g. ``"status = 'ERROR' AND tags.user = 'ana'"``; MLflow's keys and
            operators plus OR, NOT, parentheses and IN. ValueError says what is wrong and where.
        max_results: at most this many traces.
        order_by: e.g. ``["execution_time_ms DESC"]`` (default: newest first).
        return_type: ``"pandas"`` (default) or ``"list"``.

    Example::

        df = mlflow.search_traces(filter_string="span.type = 'LLM'", max_results=100)
        df.groupby("status").execution_time_ms.describe()
    """
    if return_type not in ("pandas", "list"):
        raise ValueError(f"return_type must be 'pandas' or 'list', got {return_type!r}")
    traces = _find(experiment_ids, filter_string, max_results, order_by)
    if return_type == "list":
        return traces
    from mlflow_trace_nb.query.dataframe import traces_frame

    return traces_frame(traces)


def search_spans(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The spans of the traces ``search_traces`` would find, one row per span.

    Columns: request_id, span_id, parent_id, name, span_type, status_code, status_message,
    start_time_ns, end_time_ns, duration_ms, inputs, outputs, attributes, events, trace_name,
    experiment_id. ``max_results`` limits traces, not spans.
    """
    from mlflow_trace_nb.query.dataframe import spans_frame

    return spans_frame(_find(experiment_ids, filter_string, max_results, order_by))


def get_trace(trace_id: str) -> Trace | None:
    """Return the trace with this id (``tr-...``), or None if there is none."""
    if not isinstance(trace_id, str):
        raise TypeError(f"trace_id must be a string, got {type(trace_id).__name__}")
    RUNTIME.flush()
    return RUNTIME.store.get_trace(trace_id)


def get_last_active_trace() -> Trace | None:
    """Return the trace this process finished most recently, or None."""
    live = RUNTIME.last_trace
    if live is None:
        return None
    RUNTIME.flush()
    stored = RUNTIME.store.get_trace(live.request_id)
    return stored if stored is not None else live.to_trace()
