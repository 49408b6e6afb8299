"""Stored spans as MLflow 3's span dicts and their JSON text, straight from ``spans`` rows.

Part of ``query.frame_rows`` (the ``search_traces`` DataFrame made from rows): the values
are exactly ``Span.to_dict()``'s, and the text exactly ``json.dumps``' of them (spaced,
``ensure_ascii=False``). A row this does not take raises (``OddRow`` or another error),
and the trace is then made as ``Trace`` entities instead.
"""

from __future__ import annotations

import binascii
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb.entities.recorded import (
    aggregate_cost,
    aggregate_usage,
    level_of,
    span_cost_value,
    usage_dict,
)
from mlflow_trace_nb.entities.span_event import SpanEvent
from mlflow_trace_nb.entities.span_status import SpanStatus
from mlflow_trace_nb.query.span_common import C_ENCODE, ENCODE, encode, quote
from mlflow_trace_nb.query.span_common import dump as _dump
from mlflow_trace_nb.query.span_common import scan as _scan

__all__ = ["ENCODE", "OddRow", "Root", "SpanRows", "Totals", "encode", "quote"]

_b64 = binascii.b2a_base64


class OddRow(Exception):
    """A trace the fast path does not handle: it is built as a ``Trace`` instead."""


#: A root span's ``(inputs, outputs, inputs text, inputs attribute, outputs text, outputs
#: attribute)``.
Root = tuple[Any, Any, Any, Any, Any, Any]
#: A trace's summed token usage and cost (each None without any).
Totals = tuple[dict[str, Any] | None, dict[str, float] | None]
_STATUS = {
    code: SpanStatus(code).to_dict()["code"] for code in ("UNSET", "OK", "ERROR")
}  # codes whose message stays as is; CANCELLED/TIMEOUT go through SpanStatus
_TRACE_KEY = f"{quote(keys.TRACE_REQUEST_ID)}: "
_TYPE_KEY = f"{quote(keys.SPAN_TYPE)}: "
_INPUTS_KEY = f", {quote(keys.SPAN_INPUTS)}: "
_OUTPUTS_KEY = f", {quote(keys.SPAN_OUTPUTS)}: "
_LEVEL_KEY = f", {quote(keys.SPAN_LOG_LEVEL)}: "


def _decode(text: Any) -> Any:
    """A payload column decoded on its own; ``OddRow`` unless it is one whole JSON value."""
    value, end = _scan(text, 0)
    if end != len(text):
        raise OddRow
    return value


def _payload(text: Any) -> tuple[Any, str | None]:
    """A stored inputs/outputs column decoded, and its value re-encoded as MLflow's span
    attribute (``None, None`` for none); ``OddRow`` unless it is one whole JSON value."""
    if text is None:
        return None, None
    value, at = _scan(text, 0)
    if at != len(text):
        raise OddRow
    if value is None:
        return None, None
    kind = type(value)  # dump(), inlined: the commonest kinds first
    if kind is dict or kind is list:
        return value, "".join(C_ENCODE(value, 0)) if C_ENCODE else _dump(value)
    if kind is int:
        return value, int.__repr__(value)
    return value, _dump(value)


def _b64_id(hex_id: str) -> str:
    """``mlflow_format.encode_id``."""
    return _b64(bytes.fromhex(hex_id.removeprefix("tr-")), newline=False).decode("ascii")


class SpanRows:
    """Converts the span rows of one result; caches span types and statuses across traces."""

    def __init__(self) -> None:
        self._types: dict[Any, tuple[str, str]] = {}
        self._statuses: dict[Any, tuple[str, str, str]] = {}

    def convert(
        self, request_id: str, rows: list[tuple[Any, ...]]
    ) -> tuple[list[dict[str, Any]], str, Root | None, Totals]:
        """``Span.to_dict()`` of each span row (start order), the list as JSON text (as
        ``json.dumps`` writes it), the root's payloads and the trace's token usage and cost
        (``recorded.token_usage`` / ``trace_cost_metadata``, None without any)."""
        trace_b64 = _b64_id(request_id.removeprefix("tr-"))
        trace_attr = quote(request_id)
        head = f'{{"trace_id": "{trace_b64}", "span_id": "'
        trace_attr_json = f"{{{_TRACE_KEY}{quote(trace_attr)}, {_TYPE_KEY}"
        ids = {}
        for row in rows:
            span_id = row[1]
            if type(span_id) is not str:
                raise OddRow
            ids[span_id] = _b64_id(span_id)
        types = self._types
        statuses = self._statuses
        dump, payload = _dump, _payload
        dicts = []
        texts = []
        usages: dict[str, dict[str, Any]] = {}  # token usage by span id
        costs: dict[str, dict[str, float]] = {}  # own costs by span id
        root: Root | None = None
        orphan: Root | None = None  # first span whose parent is not in the trace
        for row in rows:
            (
                _,
                span_id,
                parent,
                name,
                span_type,
                start,
                end,
                code,
                message,
                inputs_text,
                outputs_text,
                attributes_text,
                events_text,
            ) = row
            if type(name) is not str or type(start) is not int:
                raise OddRow
            if end is None:
                end_json = "null"
            elif type(end) is int:
                end_json = int.__repr__(end)
            else:
                raise OddRow
            typed = types.get(span_type)
            if typed is None:
                if span_type is not None and type(span_type) is not str:
                    raise OddRow
                dumped = dump(span_type)
                typed = types[span_type] = (dumped, quote(dumped))
            attrs = {keys.TRACE_REQUEST_ID: trace_attr, keys.SPAN_TYPE: typed[0]}
            attrs_json = trace_attr_json + typed[1]
            inputs, inputs_dumped = payload(inputs_text)
            if inputs_dumped is not None:
                attrs[keys.SPAN_INPUTS] = inputs_dumped
                attrs_json = f"{attrs_json}{_INPUTS_KEY}{quote(inputs_dumped)}"
            outputs, outputs_dumped = payload(outputs_text)
            if outputs_dumped is not None:
                attrs[keys.SPAN_OUTPUTS] = outputs_dumped
                attrs_json = f"{attrs_json}{_OUTPUTS_KEY}{quote(outputs_dumped)}"
            if events_text is None:  # None: []
                events: list[dict[str, Any]] = []
                events_json = "[]"
            else:
                events = _events(events_text)
                events_json = encode(events)
            own: Any = None
            if attributes_text is not None:  # None: {}
                own = _decode(attributes_text)
                if type(own) is not dict:
                    raise OddRow
            if own is None or keys.SPAN_LOG_LEVEL not in own:  # as Span.to_dict
                raised = any(e["name"] == "exception" for e in events) if events else False
                level = level_of(span_type, end is not None, raised)
                if level is not None:
                    attrs[keys.SPAN_LOG_LEVEL] = level_text = int.__repr__(level)
                    attrs_json = f'{attrs_json}{_LEVEL_KEY}"{level_text}"'
            if own:
                for key, value in own.items():
                    if key not in attrs:
                        dumped = attrs[key] = dump(value)
                        attrs_json = f"{attrs_json}, {quote(key)}: {quote(dumped)}"
                if keys.TOKEN_USAGE in own:
                    usage = usage_dict(own[keys.TOKEN_USAGE])
                    if usage is not None:
                        usages[span_id] = usage
                if ".cost" in attributes_text:
                    cost = span_cost_value(own)
                    if cost is not None:
                        costs[span_id] = cost
            if parent is None:
                parent_b64 = None
                parent_json = "null"
                if root is None:
                    root = (
                        inputs,
                        outputs,
                        inputs_text,
                        inputs_dumped,
                        outputs_text,
                        outputs_dumped,
                    )
            else:
                parent_b64 = ids.get(parent) if type(parent) is str else None
                if parent_b64 is None:
                    if orphan is None and parent not in ids:
                        orphan = (
                            inputs,
                            outputs,
                            inputs_text,
                            inputs_dumped,
                            outputs_text,
                            outputs_dumped,
                        )
                    parent_b64 = _b64_id(parent) if parent else None
                parent_json = "null" if parent_b64 is None else f'"{parent_b64}"'
            if type(message) is not str:  # None: ""
                message = str(message or "")
            status = statuses.get(code) if message == "" else None
            if status is None:
                status = self._status(code, message)
            span_b64 = ids[span_id]
            dicts.append(
                {
                    "trace_id": trace_b64,
                    "span_id": span_b64,
                    "parent_span_id": parent_b64,
                    "name": name,
                    "start_time_unix_nano": start,
                    "end_time_unix_nano": end,
                    "events": events,
                    "status": {"code": status[0], "message": status[1]},
                    "attributes": attrs,
                    "links": [],
                }
            )
            texts.append(
                f'{head}{span_b64}", "parent_span_id": {parent_json}, "name": {quote(name)}, '
                f'"start_time_unix_nano": {int.__repr__(start)}, "end_time_unix_nano": '
                f'{end_json}, "events": {events_json}, "status": {status[2]}, '
                f'"attributes": {attrs_json}}}, "links": []}}'
            )
        usage = cost = None
        if usages or costs:
            parents = {row[1]: row[2] for row in rows} if len(usages) + len(costs) > 1 else {}
            usage = aggregate_usage(usages, parents)
            cost = aggregate_cost(costs, parents)
        found = root if root is not None else orphan
        return dicts, f"[{', '.join(texts)}]", found, (usage, cost)

    def _status(self, code: Any, message: str) -> tuple[str, str, str]:
        """``SpanStatus(code, message).to_dict()`` as ``(code, message, JSON text)``; those
        with no message are cached."""
        if type(code) is not str:
            raise OddRow
        proto = _STATUS.get(code)
        found = (
            {"code": proto, "message": message}
            if proto is not None
            else SpanStatus(code, message).to_dict()
        )
        status = (found["code"], found["message"], encode(found))
        if message == "" and len(self._statuses) < 100:
            self._statuses[code] = status
        return status


def _events(text: Any) -> list[dict[str, Any]]:
    """``Span.to_dict()["events"]`` of a stored events column."""
    raw = _decode(text)
    if type(raw) is not list:
        raise OddRow
    events = [SpanEvent.from_dict(e) for e in raw if isinstance(e, dict)]
    return [
        {"name": e.name, "time_unix_nano": e.timestamp_ns, "attributes": e.attributes}
        for e in events
    ]
