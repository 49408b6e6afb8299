"""Reading traces back: ``search_traces``, ``search_spans``, ``get_trace``,
``get_last_active_trace`` and ``flush``; ``set_tracking_uri`` for a team's MLflow server.

Every local read first flushes what this process has pending to the local store (a no-op
when nothing is), so code that searches right after a traced call sees that call, with no
sleep; it never waits for a remote destination (only ``flush()`` does, bounded).

Where reads go (the first that applies):

1. ``tracking_uri="http://host:5000"`` passed to the call: that MLflow tracking server;
2. ``set_tracking_uri("http://host:5000")``: that server, for every read until
   ``set_tracking_uri(None)`` (or ``reset()``);
3. when ``set_destination`` named only MLflow servers (``MlflowExperiment``) and no local
   store, the first of those servers (its experiment is the default one to search);
4. otherwise the local store (the default).

Remote reads return the same DataFrame columns and ``Trace`` objects as local ones (see
``mlflow_trace_nb._internal.remote``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from mlflow_trace_nb._internal.deprecation import accepts_request_id
from mlflow_trace_nb._internal.gc_pause import gc_paused
from mlflow_trace_nb._internal.last_trace import get_last_active_trace, get_last_active_trace_id
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb._internal.serialization import fix_surrogates
from mlflow_trace_nb._internal.tracer.arguments import (
    MAX_INT64,
    bounded_int,
    describe,
    optional_str,
    optional_timeout,
    str_list,
)
from mlflow_trace_nb.entities import Trace, TraceData

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "analysis_frame",
    "flush",
    "flush_trace_async_logging",
    "get_last_active_trace",
    "get_last_active_trace_id",
    "get_trace",
    "get_tracking_uri",
    "search_spans",
    "search_traces",
    "set_tracking_uri",
]


#: Most ``order_by`` terms and experiment ids one query takes.
MAX_ORDER_BY_TERMS = 100
MAX_EXPERIMENT_IDS = 1_000
#: Longest ``filter_string`` (characters) and ``order_by`` term a query takes.
MAX_FILTER_CHARS = 100_000
_MAX_TERM_CHARS = 1_000
#: Most values a compiled filter may bind (SQLite's own limit is 32,766).
MAX_FILTER_VALUES = 10_000


def flush(timeout: float | None = 10.0) -> bool:
    """Write every finished trace now, to the local store and to remote destinations (OTLP,
    MLflow servers); returns False if ``timeout`` seconds were not enough for all of them
    (``None``: wait as long as it takes).

    Reads (``search_traces``, ``get_trace``, ...) and the end of a notebook cell flush the
    local store only, so a slow or unreachable remote never delays them; call this to wait
    for remote destinations too (say, before a short script ends)."""
    return RUNTIME.flush(optional_timeout(timeout), include_remote=True)


def _experiment_keys(experiment_ids: Sequence[Any] | str | int | None) -> list[int] | None:
    if experiment_ids is None:
        experiment_ids = [RUNTIME.experiment_id]
    elif isinstance(experiment_ids, (str, int)) and not isinstance(experiment_ids, bool):
        experiment_ids = [experiment_ids]
    elif not isinstance(experiment_ids, (list, tuple, set, frozenset)):
        raise TypeError(
            f"experiment_ids must be a list of experiment ids, got {describe(experiment_ids)}"
        )
    if len(experiment_ids) > MAX_EXPERIMENT_IDS:
        raise ValueError(
            f"experiment_ids has {len(experiment_ids):,} entries; at most {MAX_EXPERIMENT_IDS:,}"
        )
    keys = []
    for value in experiment_ids:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise TypeError(f"an experiment id must be a string or an int, got {describe(value)}")
        try:
            key = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"experiment id {value!r:.60} is not a valid experiment id") from None
        if not 0 <= key <= MAX_INT64:
            raise ValueError(f"experiment id {value!r:.60} is not a valid experiment id")
        keys.append(key)
    return keys


def _check_query(
    filter_string: Any, max_results: Any, order_by: Any, tracking_uri: Any
) -> tuple[str | None, int | None, list[str] | None]:
    """The query arguments, checked (TypeError/ValueError, see ``arguments``)."""
    optional_str(filter_string, "filter_string", max_chars=MAX_FILTER_CHARS)
    optional_str(tracking_uri, "tracking_uri", max_chars=_MAX_TERM_CHARS)
    try:
        limit = bounded_int(max_results, "max_results")
    except ValueError:
        raise ValueError(
            f"max_results must be a non-negative integer of at most {MAX_INT64:,}, "
            f"got {max_results!r}"
        ) from None
    terms = str_list(order_by, "order_by", max_items=MAX_ORDER_BY_TERMS, max_chars=_MAX_TERM_CHARS)
    return filter_string, limit, terms or None


def _compile(filter_string: str | None, order_by: list[str] | None) -> tuple[Any, Any, Any]:
    from mlflow_trace_nb.query.sql import compile_filter, compile_order_by

    try:
        where, params = compile_filter(filter_string)
        order = compile_order_by(order_by)
    except RecursionError:
        raise ValueError("filter_string is nested too deeply") from None
    if len(params) > MAX_FILTER_VALUES:
        raise ValueError(
            f"filter_string compares against {len(params):,} values; at most {MAX_FILTER_VALUES:,}"
        )
    # stored text had its lone surrogates made U+FFFD: compare with the same (and bindable)
    params = [fix_surrogates(p) if type(p) is str else p for p in params]
    return where, params, order


def set_tracking_uri(uri: str | None) -> None:
    """Send reads (``search_traces``, ``search_spans``, ``get_trace``) to the MLflow tracking
    server at ``uri`` (``http(s)://...``); ``None`` goes back to the local store.

    Only reads: where traces are written is ``set_destination``'s job (an
    ``MlflowExperiment`` destination writes to a server). Example::

        mlflow.set_tracking_uri("http://127.0.0.1:5000")
        df = mlflow.search_traces(experiment_ids=["1"])  # the team's traces
    """
    optional_str(uri, "uri", max_chars=_MAX_TERM_CHARS)
    if uri is None or not uri.strip():
        RUNTIME.tracking_uri = None
        return
    from mlflow_trace_nb._internal.remote import normalize_uri

    RUNTIME.tracking_uri = normalize_uri(uri)


def get_tracking_uri() -> str | None:
    """The MLflow server reads go to, or None when they go to the local store."""
    return RUNTIME.tracking_uri


def _remote(tracking_uri: str | None) -> tuple[str, str | None] | None:
    """``(server uri, default experiment id)`` when this read goes to an MLflow server."""
    if tracking_uri is not None:
        from mlflow_trace_nb._internal.remote import normalize_uri

        return normalize_uri(tracking_uri), None
    if RUNTIME.tracking_uri is not None:
        return RUNTIME.tracking_uri, None
    exporters = RUNTIME._exporters
    if not exporters or RUNTIME._store in exporters:
        return None
    from mlflow_trace_nb._internal.remote import mlflow_destination

    return mlflow_destination(exporters, RUNTIME._store)


def _find(
    experiment_ids: Sequence[Any] | str | int | None,
    filter_string: str | None,
    max_results: int | None,
    order_by: Sequence[str] | None,
    tracking_uri: str | None = None,
    *,
    rows: bool = False,
) -> Any:
    """The traces a query finds (a list of ``Trace``); with ``rows``, from the local store,
    the ``search_traces`` DataFrame built from its rows instead (``query.frame_rows``)."""
    filter_string, max_results, terms = _check_query(
        filter_string, max_results, order_by, tracking_uri
    )
    keys = _experiment_keys(experiment_ids)  # checked for remote reads too
    remote = _remote(tracking_uri)
    if remote is not None:
        from mlflow_trace_nb._internal.remote import search_remote

        uri, default_experiment = remote
        found = search_remote(
            uri,
            experiment_ids=experiment_ids if experiment_ids is not None else default_experiment,
            filter_string=filter_string,
            max_results=max_results,
            order_by=terms,
        )
        if rows:
            from mlflow_trace_nb.query.dataframe import traces_frame

            return traces_frame(found)
        return found
    where, params, order = _compile(filter_string, terms)
    RUNTIME.flush_for_read()
    query = {
        "experiment_ids": keys,
        "where": where,
        "params": params,
        "order_by": order,
        "limit": max_results,
    }
    if not rows:
        return RUNTIME.store.search(**query)
    from mlflow_trace_nb.query.dataframe import values_frame
    from mlflow_trace_nb.query.frame_rows import frame_values

    with gc_paused():
        return values_frame(RUNTIME.store.search_rows(frame_values, **query))


def search_traces(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
    extract_fields: list[str] | None = None,
    run_id: str | None = None,
    return_type: Literal["pandas", "list"] | None = None,
    model_id: str | None = None,
    sql_warehouse_id: str | None = None,
    include_spans: bool = True,
    locations: list[str] | None = None,
    flush: bool = False,
    *,
    tracking_uri: str | None = None,
) -> pd.DataFrame | list[Trace]:
    """Search traces; a DataFrame (one row per trace, newest first) or a list of ``Trace``.
    MLflow 3.17's signature, plus ``tracking_uri``.

    The DataFrame has MLflow 3's columns, names, order and types: ``trace_id, trace
    (JSON text), client_request_id, state, request_time (ms), execution_duration (ms),
    request, response, trace_metadata, tags, spans (span dicts), assessments``. For flat
    columns (name, duration, tokens, cost, notebook cell) use ``analysis_frame``.

    Args:
        experiment_ids: experiments to search (default: the active experiment); MLflow 3
            calls them ``locations`` (both may be given: the union is searched).
        filter_string: e.g. ``"status = 'ERROR' AND tags.user = 'ana'"``; MLflow's keys and
            operators plus OR, NOT, parentheses and IN. ValueError says what is wrong and where.
        max_results: at most this many traces.
        order_by: e.g. ``["execution_time_ms DESC"]`` (default: newest first).
        extract_fields: deprecated in MLflow: extra columns from spans' inputs/outputs,
            ``"span_name.inputs.key"`` or ``"span_name.outputs"`` (``query.extract_fields``).
        run_id / model_id: only traces whose ``mlflow.sourceRun`` / ``mlflow.modelId``
            metadata names it (``model_id`` with a ``filter_string`` raises, as in MLflow).
        return_type: ``"pandas"`` (default) or ``"list"``.
        sql_warehouse_id: Databricks only (deprecated): a warning, ignored.
        include_spans: False: the traces without their spans (a smaller, faster result).
        locations: the experiments to search (MLflow 3's name).
        flush: accepted for MLflow's sake: local reads always see pending traces.
        tracking_uri: read from this MLflow tracking server instead (see the module doc;
            OR, NOT and parentheses raise ValueError there, as MLflow's server lacks them).

    Example::

        df = mlflow.search_traces(filter_string="span.type = 'LLM'", max_results=100)
        df.groupby("state").execution_duration.describe()
    """
    from mlflow_trace_nb._internal.search_arguments import scope

    experiment_ids, filter_string, kind = scope(
        experiment_ids,
        locations,
        filter_string,
        run_id,
        model_id,
        return_type,
        extract_fields,
        sql_warehouse_id,
        include_spans,
    )
    fields = None
    if extract_fields is not None:
        from mlflow_trace_nb.query.extract_fields import parse_fields

        fields = parse_fields(extract_fields)
    if kind == "list" or fields or not include_spans:
        traces: list[Trace] = _find(
            experiment_ids, filter_string, max_results, order_by, tracking_uri
        )
        if not include_spans:
            traces = [Trace(t.info, TraceData([], t.data.request, t.data.response)) for t in traces]
        if kind == "list":
            return traces
        from mlflow_trace_nb.query.dataframe import traces_frame

        frame = traces_frame(traces)
        if fields:
            from mlflow_trace_nb.query.extract_fields import add_field_columns

            add_field_columns(frame, traces, fields)
        return frame
    found: pd.DataFrame = _find(
        experiment_ids, filter_string, max_results, order_by, tracking_uri, rows=True
    )
    return found


def analysis_frame(
    traces: Any = None,
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
    tracking_uri: str | None = None,
) -> pd.DataFrame:
    """Traces as a flat frame for analysis, one row per trace: ``trace_id, name, state,
    status, request_time, duration_ms, input_tokens, output_tokens, total_tokens, cost,
    cell_id, execution_count, cell_run, session_id, user, experiment_id, request, response,
    tags`` (values ``search_traces``' MLflow 3 columns keep inside ``trace_metadata``, ``tags``
    and ``spans``).

    ``traces``: a list of ``Trace`` or a ``search_traces`` DataFrame; without it, the traces
    the other arguments find (as ``search_traces``). Example::

        df = mlflow.analysis_frame(filter_string="span.type = 'LLM'")
        df.groupby("name")[["duration_ms", "total_tokens", "cost"]].describe()
    """
    from mlflow_trace_nb.query.dataframe import analysis_frame as build

    if traces is None:
        found = _find(experiment_ids, filter_string, max_results, order_by, tracking_uri)
        return build(found)
    if hasattr(traces, "columns") and "trace" in traces.columns:
        values = traces["trace"].tolist()
        return build(t if isinstance(t, Trace) else Trace.from_json(str(t)) for t in values)
    if isinstance(traces, Trace):
        return build([traces])
    return build(list(traces))


def search_spans(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
    tracking_uri: str | None = None,
) -> pd.DataFrame:
    """The spans of the traces ``search_traces`` would find, one row per span.

    Columns: request_id, span_id, parent_id, name, span_type, status_code, status_message,
    start_time_ns, end_time_ns, duration_ms, inputs, outputs, attributes, events, trace_name,
    experiment_id. ``max_results`` limits traces, not spans.
    """
    from mlflow_trace_nb.query.dataframe import spans_frame

    traces = _find(experiment_ids, filter_string, max_results, order_by, tracking_uri)
    return spans_frame(traces)


@accepts_request_id
def get_trace(
    trace_id: str, silent: bool = False, flush: bool = False, tracking_uri: str | None = None
) -> Trace | None:
    """Return the trace with this id (``tr-...``), or None if there is none (from the MLflow
    server at ``tracking_uri`` when given, see the module doc). MLflow's ``silent`` (no
    warning when not found) and ``flush`` are accepted: local reads always flush first and
    never warn."""
    if not isinstance(trace_id, str):
        raise TypeError(f"trace_id must be a string, got {describe(trace_id)}")
    if len(trace_id) > _MAX_TERM_CHARS:
        raise ValueError(f"trace_id is {len(trace_id):,} characters long; not a trace id")
    optional_str(tracking_uri, "tracking_uri", max_chars=_MAX_TERM_CHARS)
    remote = _remote(tracking_uri)
    if remote is not None:
        from mlflow_trace_nb._internal.remote import get_remote_trace

        return get_remote_trace(remote[0], trace_id)
    if not trace_id.isascii():  # no trace id is (a lone surrogate could not even be bound)
        return None
    RUNTIME.flush_for_read()
    return RUNTIME.store.get_trace(trace_id)


def flush_trace_async_logging(terminate: bool = False) -> None:
    """Write every pending trace now (MLflow's name for ``flush``; ``terminate`` is accepted
    for its signature, the writer keeps running)."""
    RUNTIME.flush()
