"""Sessions: the traces that share MLflow's session metadata key, as MLflow 3 groups them.

A trace joins session ``s`` when ``update_current_trace(session_id=s)`` (or
``metadata={"mlflow.trace.session": s}``) was called while it ran. ``search_sessions()``
finds the newest sessions first and returns each with all its traces, oldest first, like
``mlflow.search_sessions``. Two queries per call, both pushed down to the store: the traces
carrying the key (newest first, only until ``max_results`` distinct sessions are seen), then
each session's traces. Pages step back in time by whole milliseconds, so traces sharing
one are never skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.tracer.arguments import describe
from mlflow_trace_nb.entities.session import Session

if TYPE_CHECKING:
    pass

__all__ = ["search_sessions"]

#: Traces read per round while collecting distinct session ids.
_PAGE = 1000


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _scope(run_id: str | None, model_id: str | None) -> str:
    terms = []
    for name, value, key in (
        ("run_id", run_id, keys.SOURCE_RUN),
        ("model_id", model_id, keys.MODEL_ID),
    ):
        if value is None:
            continue
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string or None, got {describe(value)}")
        terms.append(f"metadata.`{key}` = {_literal(value)}")
    return "".join(f" AND {t}" for t in terms)


def search_sessions(
    max_results: int = 100,
    run_id: str | None = None,
    model_id: str | None = None,
    include_spans: bool = True,
    locations: Sequence[str] | None = None,
) -> list[Session]:
    """The newest ``max_results`` sessions, each with all its traces (oldest first).

    Args:
        max_results: at most this many sessions (newest first, by their newest trace).
        run_id / model_id: only traces with that ``mlflow.sourceRun`` / ``mlflow.modelId``.
        include_spans: accepted for MLflow's signature; local reads always carry spans.
        locations: experiment ids to search (default: the active experiment).

    Example::

        for session in mlflow.search_sessions():
            print(session.id, len(session))
    """
    from mlflow_trace_nb._internal.search import search_traces

    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise TypeError(f"max_results must be an int, got {describe(max_results)}")
    if max_results < 1:
        raise ValueError(f"max_results must be at least 1, got {max_results}")
    if not isinstance(include_spans, bool):
        raise TypeError(f"include_spans must be a bool, got {describe(include_spans)}")
    if locations is not None and (
        isinstance(locations, str) or not all(isinstance(x, str) for x in locations)
    ):
        raise TypeError(f"locations must be a list of experiment ids, got {describe(locations)}")
    experiments = list(locations) if locations else None
    scope = _scope(run_id, model_id)
    ids: list[str] = []
    seen: set[str] = set()

    def collect(bound: str, limit: int | None) -> list[Any]:
        page: Any = search_traces(
            experiment_ids=experiments,
            filter_string=f"metadata.`{keys.TRACE_SESSION}` IS NOT NULL{scope}{bound}",
            max_results=limit,
            order_by=["timestamp_ms DESC"],
            return_type="list",
        )
        for trace in page:
            session = trace.info._own_metadata.get(keys.TRACE_SESSION)
            if session and session not in seen and len(ids) < max_results:
                seen.add(session)
                ids.append(session)
        return list(page)

    bound = ""
    while len(ids) < max_results:
        page = collect(bound, _PAGE)
        if len(page) < _PAGE:
            break
        last = int(page[-1].info.timestamp_ms)
        collect(f" AND timestamp_ms = {last}", None)  # the rest of that millisecond, whole
        bound = f" AND timestamp_ms < {last}"
    sessions = []
    for session in ids:
        traces: Any = search_traces(
            experiment_ids=experiments,
            filter_string=f"metadata.`{keys.TRACE_SESSION}` = {_literal(session)}{scope}",
            order_by=["timestamp_ms ASC"],
            return_type="list",
        )
        sessions.append(Session(list(traces)))
    return sessions
