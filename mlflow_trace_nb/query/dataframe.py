"""Traces to pandas DataFrames (pandas is imported here, only when a frame is built)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.cost import trace_cost
from mlflow_trace_nb.entities import Trace
from mlflow_trace_nb.entities.trace import PANDAS_DATAFRAME_COLUMNS
from mlflow_trace_nb.query.frame_rows import TraceValues, trace_values
from mlflow_trace_nb.store.decoding import decode_json

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ANALYSIS_FRAME_COLUMNS",
    "SPAN_FRAME_COLUMNS",
    "TRACE_FRAME_COLUMNS",
    "analysis_frame",
    "spans_frame",
    "traces_frame",
    "values_frame",
]

#: Columns of ``search_traces`` frames: MLflow 3's, in its order.
TRACE_FRAME_COLUMNS = PANDAS_DATAFRAME_COLUMNS
#: Columns of ``analysis_frame``: flat values MLflow keeps inside ``trace_metadata``/``tags``
#: or the spans (name, duration, tokens, cost, notebook cell).
ANALYSIS_FRAME_COLUMNS = (
    "trace_id",
    "name",
    "state",
    "status",
    "request_time",
    "duration_ms",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost",
    "cell_id",
    "execution_count",
    "cell_run",
    "session_id",
    "user",
    "experiment_id",
    "request",
    "response",
    "tags",
)
#: Columns of ``search_spans`` frames: one row per span.
SPAN_FRAME_COLUMNS = (
    "request_id",
    "span_id",
    "parent_id",
    "name",
    "span_type",
    "status_code",
    "status_message",
    "start_time_ns",
    "end_time_ns",
    "duration_ms",
    "inputs",
    "outputs",
    "attributes",
    "events",
    "trace_name",
    "experiment_id",
)


def traces_frame(traces: Iterable[Trace]) -> pd.DataFrame:
    """One row per trace, in the given order, with MLflow 3's columns and types: ``trace``
    is the trace as JSON text, ``spans`` its span dicts, ``request_time`` (ms) and
    ``execution_duration`` (ms) int64 (Int64 when a trace is still running), ``request`` and
    ``response`` the decoded root inputs and outputs."""
    return values_frame([trace_values(t) for t in traces])


def values_frame(rows: list[TraceValues]) -> pd.DataFrame:
    """The ``search_traces`` frame of rows made by ``frame_rows`` (12 values each, in
    ``TRACE_FRAME_COLUMNS`` order), built column by column."""
    import pandas as pd

    names = TRACE_FRAME_COLUMNS
    columns: dict[str, Any] = (
        dict(zip(names, map(list, zip(*rows, strict=True)), strict=True))
        if rows
        else {name: [] for name in names}
    )
    durations = columns["execution_duration"]
    columns["request_time"] = pd.array(columns["request_time"], dtype="int64")
    columns["execution_duration"] = pd.array(
        durations, dtype="Int64" if None in durations else "int64"
    )
    return pd.DataFrame(columns, columns=list(names))


def analysis_frame(traces: Iterable[Trace]) -> pd.DataFrame:
    """One row per trace with flat columns for analysis (``ANALYSIS_FRAME_COLUMNS``): the
    trace's name, state and status (which keeps CANCELLED/TIMEOUT), start (ms), duration
    (ms), tokens and cost summed over its LLM calls (cost None unless every call was
    priced), its notebook cell, session and user, experiment, request, response and tags."""
    import pandas as pd

    rows = []
    for trace in traces:
        info = trace.info
        total = trace_cost(trace).total
        tags, metadata = info.tags or {}, info._own_metadata or {}
        calls = total.calls
        rows.append(
            (
                info.trace_id,
                info.name,
                info.state.value,
                info.status,
                info.request_time,
                info.execution_duration,
                total.input_tokens if calls else None,
                total.output_tokens if calls else None,
                total.total_tokens if calls else None,
                total.cost,
                tags.get(keys.CELL_ID),
                tags.get(keys.EXECUTION_COUNT),
                tags.get(keys.CELL_RUN),
                metadata.get(keys.TRACE_SESSION),
                metadata.get(keys.TRACE_USER),
                info.experiment_id,
                decode_json(trace.data.request),
                decode_json(trace.data.response),
                tags,
            )
        )
    frame = pd.DataFrame(rows, columns=list(ANALYSIS_FRAME_COLUMNS))
    ints = ("request_time", "duration_ms", "input_tokens", "output_tokens", "total_tokens")
    return frame.astype({**dict.fromkeys(ints, "Int64"), "cost": "float"})


def spans_frame(traces: Iterable[Trace]) -> pd.DataFrame:
    """One row per span of the given traces (trace order, then start order)."""
    import pandas as pd

    columns: dict[str, list[Any]] = {name: [] for name in SPAN_FRAME_COLUMNS}
    for trace in traces:
        for span in trace.data.spans:
            duration = span.duration_ns
            columns["request_id"].append(trace.info.request_id)
            columns["span_id"].append(span.span_id)
            columns["parent_id"].append(span.parent_id)
            columns["name"].append(span.name)
            columns["span_type"].append(span.span_type)
            columns["status_code"].append(span.status_code)
            columns["status_message"].append(span.status_message)
            columns["start_time_ns"].append(span.start_time_ns)
            columns["end_time_ns"].append(span.end_time_ns)
            columns["duration_ms"].append(None if duration is None else duration / 1e6)
            columns["inputs"].append(span.inputs)
            columns["outputs"].append(span.outputs)
            columns["attributes"].append(span._raw_attributes)
            columns["events"].append([e.to_dict() for e in span.events])
            columns["trace_name"].append(trace.info.name)
            columns["experiment_id"].append(trace.info.experiment_id)
    frame = pd.DataFrame(columns, columns=list(SPAN_FRAME_COLUMNS))
    return frame.astype({"start_time_ns": "Int64", "end_time_ns": "Int64", "duration_ms": "float"})
