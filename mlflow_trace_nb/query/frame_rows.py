"""``search_traces`` frame columns straight from the store's rows, without entity objects.

``dataframe.traces_frame`` turns ``Trace`` objects into MLflow 3's columns by way of
``Trace.to_dict()``: per span a ``Span``, its payloads decoded, then each re-encoded as an
attribute, then the whole trace encoded once more. For ten thousand stored traces that is
about a second. Here the same values are made from the ``traces`` and ``spans`` rows
directly, in the store's read snapshot (each payload decoded once and re-encoded once, the
JSON text assembled from pieces, ids, timestamps and states computed with small caches):
about three times faster.

The values are exactly those of the entity path: a trace this module does not take
(assessments, a payload that is not one whole JSON value, a column of an unexpected
type...) is built as a ``Trace`` by the store, as ``search`` builds it, and converted by
``trace_values`` instead. ``tests/query/test_frame_rows.py`` compares both paths cell by
cell on many kinds of traces and hand-damaged rows: when ``TraceInfo.to_dict`` or
``Span.to_dict`` change, ``_Builder._info`` / ``span_rows.SpanRows.convert`` must too.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Callable
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.gc_pause import gc_paused
from mlflow_trace_nb.entities import Trace
from mlflow_trace_nb.entities.recorded import (
    SCHEMA_VERSION,
    metadata_preview,
    truncated_preview,
)
from mlflow_trace_nb.entities.trace_info import PREVIEW_CHARS
from mlflow_trace_nb.entities.trace_state import TraceLocation, state_of
from mlflow_trace_nb.query.span_common import ENCODE as _ENCODE
from mlflow_trace_nb.query.span_common import encode as _encode
from mlflow_trace_nb.query.span_common import quote as _quote
from mlflow_trace_nb.query.span_rows import OddRow as _Odd
from mlflow_trace_nb.query.span_rows import Root as _Root
from mlflow_trace_nb.query.span_rows import SpanRows, Totals
from mlflow_trace_nb.store.decoding import decode_object
from mlflow_trace_nb.store.trace_builder import root_first

__all__ = ["TraceValues", "frame_values", "trace_values"]

#: One frame row: the 12 columns of ``dataframe.TRACE_FRAME_COLUMNS``, in order.
TraceValues = tuple[Any, ...]

_START = operator.itemgetter(5)  # start_time_ns in a spans row
_dumps = json.JSONEncoder().encode  # as TraceInfo encodes mlflow.trace.tokenUsage


def trace_values(trace: Trace) -> TraceValues:
    """The frame row of one ``Trace`` (any source: store, server, live), by way of
    ``Trace.to_dict()``."""
    info = trace.info
    d = trace.to_dict()
    head = d["info"]
    root = trace.data.root
    return (
        info.trace_id,
        _ENCODE(d),
        head.get("client_request_id"),
        head["state"],
        info.request_time,
        info.execution_duration,
        None if root is None else root.inputs,
        None if root is None else root.outputs,
        head.get("trace_metadata", {}),
        head.get("tags", {}),
        d["data"]["spans"],
        head.get("assessments", []),
    )


def frame_values(
    trace_rows: list[tuple[Any, ...]],
    span_rows: list[tuple[Any, ...]],
    assessed: set[Any],
    load: Callable[[list[tuple[Any, ...]]], list[Trace]],
) -> list[TraceValues]:
    """Frame rows for ``traces`` rows (store order) and the ``spans`` rows of all of them
    (as ``SqliteStore.search_rows`` reads them, any order). The traces in ``assessed`` and those
    the fast path does not take are made ``Trace`` by ``load(trace rows)`` (as the store's
    ``search`` makes them) and converted by ``trace_values``."""
    by_trace: dict[Any, list[tuple[Any, ...]]] = {row[0]: [] for row in trace_rows}
    for span in span_rows:
        bucket = by_trace.get(span[0])
        if bucket is not None:
            bucket.append(span)
    out: list[Any] = []
    slow: list[int] = []
    builder = _Builder()
    with gc_paused():
        for row in trace_rows:
            if row[0] not in assessed:
                spans = by_trace[row[0]]
                try:
                    spans.sort(key=_START)
                    if spans and spans[0][2] is not None:  # the root first, as MLflow
                        root_first(spans)
                    out.append(builder.values(row, spans))
                    continue
                except Exception:  # anything unusual: the entity path decides (and may raise)
                    pass
            slow.append(len(out))
            out.append(row)
        if slow:
            for index, trace in zip(slow, load([out[i] for i in slow]), strict=True):
                out[index] = trace_values(trace)
    return out


class _Builder:
    """Makes frame rows; caches what repeats across traces (timestamps' seconds, states,
    span types)."""

    def __init__(self) -> None:
        self._seconds: dict[int, str] = {}
        self._span_rows = SpanRows()
        self._states: dict[Any, tuple[str, str]] = {}
        self._locations: dict[Any, str] = {}

    def _request_time(self, ms: Any) -> str:
        """``mlflow_format.format_request_time``, its date and time cached per second."""
        if type(ms) is not int or ms < 0:
            raise _Odd
        second = ms // 1000
        prefix = self._seconds.get(second)
        if prefix is None:
            moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
            prefix = self._seconds[second] = moment.strftime("%Y-%m-%dT%H:%M:%S.")
        return f"{prefix}{ms % 1000:03d}Z"

    def values(self, row: tuple[Any, ...], spans: list[tuple[Any, ...]]) -> TraceValues:
        """The frame row of a plain trace (``_Odd`` or another error for any other)."""
        request_id, timestamp, duration = row[0], row[3], row[4]
        if type(request_id) is not str:
            raise _Odd
        span_dicts, spans_json, root, totals = self._span_rows.convert(request_id, spans)
        info, info_json = self._info(row, root, totals)
        trace_json = f'{{"info": {info_json}, "data": {{"spans": {spans_json}}}}}'
        return (
            request_id,
            trace_json,
            info.get("client_request_id"),
            info["state"],
            timestamp,
            duration,
            None if root is None else root[0],
            None if root is None else root[1],
            info.get("trace_metadata", {}),
            info.get("tags", {}),
            span_dicts,
            [],
        )

    def _info(
        self, row: tuple[Any, ...], root: _Root | None, totals: Totals
    ) -> tuple[dict[str, Any], str]:
        """The fields of ``TraceInfo.to_dict()`` the frame shows (``client_request_id``,
        ``state``, ``trace_metadata``, ``tags``, when not empty) of a stored trace without
        assessments, and the JSON text of the whole ``to_dict()`` as ``json.dumps`` writes
        it (empty fields left out). ``totals``: the spans' token counts and costs summed."""
        request_id, experiment, name, timestamp, duration, status = row[:6]
        if type(status) is not str:
            raise _Odd
        metadata = {} if row[8] == "{}" else decode_object(row[8])
        tags = decode_object(row[9])
        if name and keys.TRACE_NAME not in tags:
            tags[keys.TRACE_NAME] = name
        states = self._states.get(status)
        if states is None:
            value = state_of(status).value
            states = self._states[status] = (value, _quote(value))
        state, state_json = states
        experiment = str(experiment)
        location = self._locations.get(experiment)
        if location is None:
            location = self._locations[experiment] = _encode(TraceLocation(experiment).to_dict())
        request_time = self._request_time(timestamp)
        info: dict[str, Any] = {"trace_id": request_id}
        parts = [f'{{"trace_id": {_quote(request_id)}']
        client_request_id = metadata.get(keys.CLIENT_REQUEST_ID)
        if client_request_id is not None and client_request_id != {} and client_request_id != []:
            info["client_request_id"] = client_request_id
            parts.append(f', "client_request_id": {_encode(client_request_id)}')
        info["state"] = state
        parts.append(
            f', "trace_location": {location}, "request_time": "{request_time}", '
            f'"state": {state_json}'
        )
        # TraceData.request / .response (JSON as json.dumps writes it)
        if root is not None and row[6] == root[2] and row[6] is not None:
            request = root[3]  # the root's inputs, re-encoded already
        else:
            request = _request_json(row[6], root, 0)
        if root is not None and row[7] == root[4] and row[7] is not None:
            response = root[5]  # the root's outputs, re-encoded already
        else:
            response = _request_json(row[7], root, 1)
        # trace_metadata: the stored keys, then what MLflow records (TraceInfo.trace_metadata)
        trace_metadata = {k: v for k, v in metadata.items() if k not in _FIELD_KEYS}
        trace_metadata.setdefault(keys.SCHEMA_VERSION, SCHEMA_VERSION)
        if duration is not None:
            trace_metadata.setdefault(keys.TRACE_INPUTS, metadata_preview(request))
            trace_metadata.setdefault(keys.TRACE_OUTPUTS, metadata_preview(response))
        usage, cost = totals
        if usage is not None:
            trace_metadata.setdefault(keys.TRACE_TOKEN_USAGE, _dumps(usage))
        if cost is not None:
            trace_metadata.setdefault(keys.TRACE_COST, _dumps(cost))
        info["trace_metadata"] = trace_metadata
        parts.append(f', "trace_metadata": {_encode(trace_metadata)}')
        if tags:
            info["tags"] = tags
            parts.append(f', "tags": {_encode(tags)}')
        for field, key, text, role in (
            ("request_preview", keys.REQUEST_PREVIEW, request, "user"),
            ("response_preview", keys.RESPONSE_PREVIEW, response, "assistant"),
        ):  # TraceInfo._preview
            given = metadata.get(key) if metadata else None
            preview = str(given)[:PREVIEW_CHARS] if given is not None else None
            if given is None:
                preview = truncated_preview(text, role)
            if preview is not None:
                parts.append(f', "{field}": {_quote(preview)}')
        if duration is not None and duration != {} and duration != []:
            text = int.__repr__(duration) if type(duration) is int else _encode(duration)
            parts.append(f', "execution_duration_ms": {text}}}')
        else:
            parts.append("}")
        return info, "".join(parts)


#: Metadata keys holding fields of their own (``TraceInfo``'s ``_FIELD_KEYS``).
_FIELD_KEYS = frozenset({keys.CLIENT_REQUEST_ID, keys.REQUEST_PREVIEW, keys.RESPONSE_PREVIEW})


def _request_json(text: Any, root: _Root | None, side: int) -> str | None:
    """``TraceData.request`` (side 0) or ``.response`` (side 1) of a stored trace."""
    if text is None:  # from the root span
        value = None if root is None else root[side]
        return None if value is None else _encode(value)
    if type(text) is not str:
        raise _Odd
    if root is not None and text == root[2 + 2 * side]:
        dumped: str | None = root[3 + 2 * side]  # the root's payload, re-encoded already
        return dumped
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return None if value is None else _encode(value)
