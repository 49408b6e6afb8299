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
    """Frame rows for ``traces`` rows (store order, each with its root span's columns) and
    the other ``spans`` rows of all of them (as ``SqliteStore.search_rows`` reads them, any
    order). The traces in ``assessed`` and those the fast path does not take are made
    ``Trace`` by ``load(trace rows)`` (as the store's ``search`` makes them) and converted
    by ``trace_values``."""
    by_trace: dict[Any, list[tuple[Any, ...]]] = {row[0]: [] for row in trace_rows}
    for span in span_rows:
        bucket = by_trace.get(span[0])
        if bucket is not None:
            bucket.append(span)
    for row in trace_rows:  # the root last, as the ``spans`` view lists it (for ties)
        if row[10] is not None:
            by_trace[row[0]].append(_root_row(row))
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


def _root_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The ``spans`` row of a trace's root, from its trace row (``search_rows``' layout:
    ``TRACE_COLUMNS``, then the root's id, type, start, end, message, attributes, events),
    as the ``spans`` view (migration 3) makes it: the trace's name, status, request and
    response are the root's name, status code, inputs and outputs."""
    # request_id, span_id, parent_id (none), name, span_type, start_time_ns, end_time_ns,
    # status_code, status_message, inputs, outputs, attributes, events
    (
        request_id,
        _,
        name,
        _,
        _,
        status,
        request,
        response,
        _,
        _,
        span_id,
        kind,
        start,
        end,
        message,
        attributes,
        events,
    ) = row
    return (
        request_id,
        span_id,
        None,
        name,
        kind,
        start,
        end,
        status,
        message,
        request,
        response,
        attributes,
        events,
    )


class _Builder:
    """Makes frame rows; caches what repeats across traces (timestamps' seconds, states,
    span types)."""

    def __init__(self) -> None:
        self._seconds: dict[int, str] = {}
        self._span_rows = SpanRows()
        self._states: dict[Any, tuple[str, str]] = {}
        self._locations: dict[Any, str] = {}
        self._tag_cache: dict[tuple[Any, Any], tuple[dict[str, Any], str]] = {}

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
        tags, tags_json = self._tags(row[9], name)
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
        client_json = ""
        client_request_id = metadata.get(keys.CLIENT_REQUEST_ID) if metadata else None
        if client_request_id is not None and client_request_id != {} and client_request_id != []:
            info["client_request_id"] = client_request_id
            client_json = f', "client_request_id": {_encode(client_request_id)}'
        info["state"] = state
        # TraceData.request / .response (JSON as json.dumps writes it)
        if root is not None and row[6] == root[2] and row[6] is not None:
            request = root[3]  # the root's inputs, re-encoded already
        else:
            request = _request_json(row[6], root, 0)
        if root is not None and row[7] == root[4] and row[7] is not None:
            response = root[5]  # the root's outputs, re-encoded already
        else:
            response = _request_json(row[7], root, 1)
        trace_metadata, metadata_json = _trace_metadata(
            metadata, duration, request, response, totals
        )
        info["trace_metadata"] = trace_metadata
        if tags:
            info["tags"] = tags
            tags_json = f', "tags": {tags_json}'
        previews = []
        for field, key, text, role in (
            ("request_preview", keys.REQUEST_PREVIEW, request, "user"),
            ("response_preview", keys.RESPONSE_PREVIEW, response, "assistant"),
        ):  # TraceInfo._preview
            given = metadata.get(key) if metadata else None
            preview = str(given)[:PREVIEW_CHARS] if given is not None else None
            if given is None:
                preview = truncated_preview(text, role)
            if preview is not None:
                previews.append(f', "{field}": {_quote(preview)}')
        if duration is not None and duration != {} and duration != []:
            text = int.__repr__(duration) if type(duration) is int else _encode(duration)
            duration_json = f', "execution_duration_ms": {text}'
        else:
            duration_json = ""
        return info, (
            f'{{"trace_id": {_quote(request_id)}{client_json}, "trace_location": {location}, '
            f'"request_time": "{request_time}", "state": {state_json}, '
            f'"trace_metadata": {metadata_json}{tags_json}{"".join(previews)}{duration_json}}}'
        )

    def _tags(self, text: Any, name: Any) -> tuple[dict[str, Any], str]:
        """``TraceInfo.tags`` of a stored trace (the trace name added) and its JSON text;
        those of only string values are cached by column and name (and copied)."""
        key = (text, name)
        cached = self._tag_cache.get(key)
        if cached is not None:
            return cached[0].copy(), cached[1]
        tags = decode_object(text)
        if name and keys.TRACE_NAME not in tags:
            tags[keys.TRACE_NAME] = name
        tags_json = _encode(tags)
        if len(self._tag_cache) < _MAX_CACHED and all(type(v) is str for v in tags.values()):
            self._tag_cache[key] = (tags.copy(), tags_json)
        return tags, tags_json


def _trace_metadata(
    metadata: dict[str, Any],
    duration: Any,
    request: str | None,
    response: str | None,
    totals: Totals,
) -> tuple[dict[str, Any], str]:
    """``TraceInfo.trace_metadata`` of a stored trace (the stored keys, then what MLflow
    records) and its JSON text."""
    usage, cost = totals
    if metadata:
        trace_metadata = {k: v for k, v in metadata.items() if k not in _FIELD_KEYS}
        trace_metadata.setdefault(keys.SCHEMA_VERSION, SCHEMA_VERSION)
        if duration is not None:
            trace_metadata.setdefault(keys.TRACE_INPUTS, metadata_preview(request))
            trace_metadata.setdefault(keys.TRACE_OUTPUTS, metadata_preview(response))
        if usage is not None:
            trace_metadata.setdefault(keys.TRACE_TOKEN_USAGE, _dumps(usage))
        if cost is not None:
            trace_metadata.setdefault(keys.TRACE_COST, _dumps(cost))
        return trace_metadata, _encode(trace_metadata)
    # none stored (the commonest): the same values, their text written here (a third of
    # the C encoder's time for these few strings)
    trace_metadata = {keys.SCHEMA_VERSION: SCHEMA_VERSION}
    parts = [_SCHEMA_JSON]
    if duration is not None:
        inputs = trace_metadata[keys.TRACE_INPUTS] = metadata_preview(request)
        outputs = trace_metadata[keys.TRACE_OUTPUTS] = metadata_preview(response)
        parts.append(f"{_INPUTS_JSON}{_quote(inputs)}{_OUTPUTS_JSON}{_quote(outputs)}")
    if usage is not None:
        text = trace_metadata[keys.TRACE_TOKEN_USAGE] = _dumps(usage)
        parts.append(f"{_USAGE_JSON}{_quote(text)}")
    if cost is not None:
        text = trace_metadata[keys.TRACE_COST] = _dumps(cost)
        parts.append(f"{_COST_JSON}{_quote(text)}")
    parts.append("}")
    return trace_metadata, "".join(parts)


_SCHEMA_JSON = f"{{{_quote(keys.SCHEMA_VERSION)}: {_quote(SCHEMA_VERSION)}"
_INPUTS_JSON = f", {_quote(keys.TRACE_INPUTS)}: "
_OUTPUTS_JSON = f", {_quote(keys.TRACE_OUTPUTS)}: "
_USAGE_JSON = f", {_quote(keys.TRACE_TOKEN_USAGE)}: "
_COST_JSON = f", {_quote(keys.TRACE_COST)}: "
#: Most distinct tag columns ``_Builder`` keeps converted (per result).
_MAX_CACHED = 1_000


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
