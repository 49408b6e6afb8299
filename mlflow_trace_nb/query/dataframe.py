"""Traces to pandas DataFrames (pandas is imported here, only when a frame is built)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mlflow_trace_nb.entities import Trace
from mlflow_trace_nb.store.decoding import decode_json

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SPAN_FRAME_COLUMNS", "TRACE_FRAME_COLUMNS", "spans_frame", "traces_frame"]

#: Columns of ``search_traces`` frames, MLflow's names first.
TRACE_FRAME_COLUMNS = (
    "request_id",
    "trace_id",
    "trace",
    "timestamp_ms",
    "status",
    "execution_time_ms",
    "request",
    "response",
    "request_metadata",
    "spans",
    "tags",
    "experiment_id",
    "name",
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
    """One row per trace, in the given order."""
    import pandas as pd

    traces = list(traces)
    infos = [t.info for t in traces]
    datas = [t.data for t in traces]
    request_ids = [i.request_id for i in infos]
    columns: dict[str, Any] = {
        "request_id": request_ids,
        "trace_id": request_ids,
        "trace": traces,
        "timestamp_ms": pd.array([i.timestamp_ms for i in infos], dtype="Int64"),
        "status": [i.status for i in infos],
        "execution_time_ms": pd.array([i.execution_time_ms for i in infos], dtype="Int64"),
        "request": [decode_json(d.request) for d in datas],
        "response": [decode_json(d.response) for d in datas],
        "request_metadata": [i.request_metadata for i in infos],
        "spans": [t.data.spans for t in traces],
        "tags": [i.tags for i in infos],
        "experiment_id": [i.experiment_id for i in infos],
        "name": [i.name for i in infos],
    }
    return pd.DataFrame(columns, columns=list(TRACE_FRAME_COLUMNS))


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
            columns["attributes"].append(span.attributes)
            columns["events"].append([e.to_dict() for e in span.events])
            columns["trace_name"].append(trace.info.name)
            columns["experiment_id"].append(trace.info.experiment_id)
    frame = pd.DataFrame(columns, columns=list(SPAN_FRAME_COLUMNS))
    return frame.astype({"start_time_ns": "Int64", "end_time_ns": "Int64", "duration_ms": "float"})
