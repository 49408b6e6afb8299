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
_ERROR_LEVEL = int.__repr__(level_of(None, True, True) or 40)


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


#: Attribute keys ``Span.to_dict`` sets itself (an own attribute of the same key is not shown).
_FIXED_KEYS = frozenset(
    {
        keys.TRACE_REQUEST_ID,
        keys.SPAN_TYPE,
        keys.SPAN_INPUTS,
        keys.SPAN_OUTPUTS,
        keys.SPAN_LOG_LEVEL,
    }
)
#: Most distinct attribute columns ``SpanRows`` keeps converted (per result).
_MAX_OWN = 1_000
#: A span type's attribute value, its JSON text (quoted), and its log level once ended
#: without an exception (as attribute text).
_Typed = tuple[str, str, str]
#: An own attributes column converted: the decoded dict when the general path must look at
#: it (a key ``Span.to_dict`` sets, token usage, a cost), else None; otherwise the items
#: as attribute values (dumped), and their JSON text.
_Own = tuple[dict[str, Any] | None, dict[str, str], str]
_NO_OWN: _Own = (None, {}, "")


class SpanRows:
    """Converts the span rows of one result; caches span types, statuses and plain own
    attribute columns (the same text converts to the same attributes) across traces."""

    def __init__(self) -> None:
        self._types: dict[Any, _Typed] = {}
        self._statuses: dict[Any, tuple[str, str, str]] = {}
        self._owns: dict[str, _Own] = {}

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
        owns = self._owns
        payload = _payload
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
                typed = self._type(span_type)
            attrs = {keys.TRACE_REQUEST_ID: trace_attr, keys.SPAN_TYPE: typed[0]}
            inputs, inputs_dumped = payload(inputs_text)
            if inputs_dumped is None:
                inputs_json = ""
            else:
                attrs[keys.SPAN_INPUTS] = inputs_dumped
                inputs_json = f"{_INPUTS_KEY}{quote(inputs_dumped)}"
            outputs, outputs_dumped = payload(outputs_text)
            if outputs_dumped is None:
                outputs_json = ""
            else:
                attrs[keys.SPAN_OUTPUTS] = outputs_dumped
                outputs_json = f"{_OUTPUTS_KEY}{quote(outputs_dumped)}"
            if events_text is None:  # None: []
                events: list[dict[str, Any]] = []
                events_json = "[]"
            else:
                events = _events(events_text)
                events_json = encode(events)
            if attributes_text is None:  # None: {}
                own_entry = _NO_OWN
            else:
                own_entry = owns.get(attributes_text) or self._own(attributes_text)
            own, pairs, own_json = own_entry
            level_json = ""
            if own is None or keys.SPAN_LOG_LEVEL not in own:  # as Span.to_dict
                if events and any(e["name"] == "exception" for e in events):
                    level_text: str | None = _ERROR_LEVEL
                else:
                    level_text = None if end is None else typed[2]
                if level_text is not None:
                    attrs[keys.SPAN_LOG_LEVEL] = level_text
                    level_json = f'{_LEVEL_KEY}"{level_text}"'
            if pairs:
                attrs.update(pairs)  # none of them among attrs' keys (see _own)
            elif own:
                own_json = self._general(span_id, own, attributes_text, attrs, usages, costs)
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
                f'"attributes": {trace_attr_json}{typed[1]}{inputs_json}{outputs_json}'
                f'{level_json}{own_json}}}, "links": []}}'
            )
        usage = cost = None
        if usages or costs:
            parents = {row[1]: row[2] for row in rows} if len(usages) + len(costs) > 1 else {}
            usage = aggregate_usage(usages, parents)
            cost = aggregate_cost(costs, parents)
        found = root if root is not None else orphan
        return dicts, f"[{', '.join(texts)}]", found, (usage, cost)

    def _type(self, span_type: Any) -> _Typed:
        """A span type's ``_Typed`` (cached)."""
        if span_type is not None and type(span_type) is not str:
            raise OddRow
        dumped = _dump(span_type)
        level = level_of(span_type, True, False)
        typed = (dumped, quote(dumped), "" if level is None else int.__repr__(level))
        if len(self._types) < 100:
            self._types[span_type] = typed
        return typed

    def _own(self, text: str) -> _Own:
        """An own attributes column converted (``_Own``); those the general path need not see
        are cached."""
        own = _decode(text)
        if type(own) is not dict:
            raise OddRow
        if not own.keys().isdisjoint(_FIXED_KEYS) or keys.TOKEN_USAGE in own or ".cost" in text:
            return own, {}, ""
        pairs = {key: _dump(value) for key, value in own.items()}
        found = (None, pairs, "".join([f", {quote(k)}: {quote(v)}" for k, v in pairs.items()]))
        if len(self._owns) < _MAX_OWN:
            self._owns[text] = found
        return found

    @staticmethod
    def _general(
        span_id: str,
        own: dict[str, Any],
        text: str,
        attrs: dict[str, Any],
        usages: dict[str, dict[str, Any]],
        costs: dict[str, dict[str, float]],
    ) -> str:
        """Adds the own attributes not among ``attrs``' keys to them (dumped), notes the span's
        token usage and cost; returns their JSON text."""
        parts = []
        for key, value in own.items():
            if key not in attrs:
                dumped = attrs[key] = _dump(value)
                parts.append(f", {quote(key)}: {quote(dumped)}")
        if keys.TOKEN_USAGE in own:
            usage = usage_dict(own[keys.TOKEN_USAGE])
            if usage is not None:
                usages[span_id] = usage
        if ".cost" in text:
            cost = span_cost_value(own)
            if cost is not None:
                costs[span_id] = cost
        return "".join(parts)

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
