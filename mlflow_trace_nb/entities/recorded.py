"""What MLflow 3 records beside a trace's own fields, computed from those fields.

The store keeps each value once (a span's type, inputs and outputs in their columns, the
root's request/response in the trace row); MLflow 3 also writes copies of them as span
attributes and trace metadata. These functions build those copies on read, with MLflow's
keys, values and truncation (``mlflow/tracing/processor/base_mlflow.py``,
``mlflow/tracing/utils/truncation.py``, ``mlflow/tracing/utils/default_log_level.py``):

- span attributes: ``mlflow.traceRequestId``, ``mlflow.spanType``, ``mlflow.spanInputs``,
  ``mlflow.spanOutputs``, ``mlflow.spanLogLevel`` (DEBUG 10 / INFO 20 by span type, ERROR
  40 once an ``exception`` event is logged, as MLflow 3.17);
- trace metadata: ``mlflow.traceInputs`` / ``mlflow.traceOutputs`` (the root's request and
  response JSON, 250 characters at most), ``mlflow.trace_schema.version`` (``"3"``) and
  ``mlflow.trace.tokenUsage`` (token counts summed over the spans, a span's descendants
  skipped when it has its own, as MLflow aggregates them) and ``mlflow.trace.cost`` (the
  spans' own ``mlflow.llm.cost``/``tool``/``embedding``/``retrieval``/``span`` costs,
  summed the same way);
- request/response previews: the last chat message's text when the payload holds chat
  messages, else the JSON, 1000 characters at most.

``mlflow.spanFunctionName`` is stored as it is recorded: one attribute dict shared by a traced
function's spans (``records.FixedAttributes``), encoded once.

What MLflow records and this package cannot know truthfully is left out:
``mlflow.trace.sizeBytes``/``sizeStats`` (bytes of
MLflow's own serialisation), ``mlflow.user`` and ``mlflow.source.*`` (the recording
process's environment).
"""

from __future__ import annotations

import json
from typing import Any

from mlflow_trace_nb import keys

__all__ = [
    "METADATA_CHARS",
    "PREVIEW_CHARS",
    "SCHEMA_VERSION",
    "aggregate_cost",
    "aggregate_usage",
    "cost_dict",
    "level_of",
    "log_level",
    "metadata_preview",
    "span_attributes",
    "span_cost_value",
    "token_usage",
    "trace_cost_metadata",
    "truncated_preview",
    "usage_dict",
]

#: MLflow's MAX_CHARS_IN_TRACE_INFO_METADATA (``mlflow.traceInputs``/``traceOutputs``).
METADATA_CHARS = 250
#: MLflow OSS's TRACE_REQUEST_RESPONSE_PREVIEW_MAX_LENGTH (request/response previews).
PREVIEW_CHARS = 1000
#: The value of ``mlflow.trace_schema.version`` MLflow 3 writes.
SCHEMA_VERSION = "3"
_SUFFIX = "..."
#: Span types MLflow logs at INFO by default; every other type is DEBUG.
_INFO_SPAN_TYPES = frozenset({"LLM", "CHAT_MODEL", "TOOL", "RETRIEVER", "AGENT", "EMBEDDING"})
_DEBUG, _INFO, _ERROR = 10, 20, 40
_TOKEN_KEYS = (keys.INPUT_TOKENS, keys.OUTPUT_TOKENS, keys.TOTAL_TOKENS)
_CACHE_TOKEN_KEYS = (
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "cache_creation_input_tokens_above_1hr",
)


def log_level(span: Any) -> int | None:
    """MLflow's ``mlflow.spanLogLevel`` for a span: ERROR (40) once it has an ``exception``
    event, else, once ended, INFO (20) for model/tool/retriever/agent/embedding types and
    DEBUG (10) for the rest; None while it runs without an exception."""
    raised = any(event.name == "exception" for event in span.events)
    return level_of(span.span_type, span.end_time_ns is not None, raised)


def level_of(span_type: Any, ended: bool, raised: bool) -> int | None:
    """``log_level`` from a span's type, whether it ended and whether it has an
    ``exception`` event."""
    if raised:
        return _ERROR
    if not ended:
        return None
    return _INFO if span_type in _INFO_SPAN_TYPES else _DEBUG


def span_attributes(span: Any, own: dict[str, Any]) -> dict[str, Any]:
    """A span's attributes as MLflow's ``Span.attributes`` returns them (values decoded):
    the span's trace id, type, inputs, outputs and log level under MLflow's keys, then
    ``own`` (the attributes set on the span), which win where set to something."""
    attributes: dict[str, Any] = {
        keys.TRACE_REQUEST_ID: span.trace_id,
        keys.SPAN_TYPE: span.span_type,
    }
    inputs, outputs = span.inputs, span.outputs
    if inputs is not None:
        attributes[keys.SPAN_INPUTS] = inputs
    if outputs is not None:
        attributes[keys.SPAN_OUTPUTS] = outputs
    if keys.SPAN_LOG_LEVEL not in own:
        level = log_level(span)
        if level is not None:
            attributes[keys.SPAN_LOG_LEVEL] = level
    for key, value in own.items():
        if value is not None or key not in attributes:
            attributes[key] = value
    return attributes


def metadata_preview(text: str | None) -> str:
    """``mlflow.traceInputs``/``traceOutputs`` from a request/response JSON text: at most
    250 characters (247 and ``...`` when longer), ``""`` for none, as MLflow truncates."""
    if not text:
        return ""
    if len(text) > METADATA_CHARS:
        return text[: METADATA_CHARS - len(_SUFFIX)] + _SUFFIX
    return text


def truncated_preview(text: str | None, role: str) -> str | None:
    """A request (``role="user"``) or response (``"assistant"``) preview as MLflow 3 makes
    it: the text of the last message of that role when the JSON holds chat messages (OpenAI
    chat or Responses shapes), else the JSON itself; 1000 characters at most."""
    if text is None:
        return None
    content: str | None = None
    obj = None
    if '"role"' in text:  # no chat message without a role: most payloads are not parsed
        try:
            obj = json.loads(text)
        except (TypeError, ValueError):
            obj = None
    if obj is not None:
        messages = _messages(obj)
        if messages:
            content = _message_text(_last_message(messages, role))
    content = content or text
    if len(content) <= PREVIEW_CHARS:
        return content
    return content[: PREVIEW_CHARS - len(_SUFFIX)] + _SUFFIX


def _is_message(item: Any) -> bool:
    return isinstance(item, dict) and "role" in item and "content" in item


def _messages(obj: Any) -> list[dict[str, Any]] | None:
    if not isinstance(obj, dict):
        return None
    messages = obj.get("messages")
    if messages and isinstance(messages, list):
        return [item for item in messages if _is_message(item)]
    choices = obj.get("choices")
    if choices and isinstance(choices, list) and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if message and _is_message(message):
            return [message]
    for key in ("input", "output"):
        items = obj.get(key)
        if items and isinstance(items, list):
            return [item for item in items if _is_message(item)]
    if "request" in obj:
        return _messages(obj["request"])
    return None


def _last_message(messages: list[dict[str, Any]], role: str) -> dict[str, Any]:
    """The last message of ``role``, else the last message."""
    return next((m for m in reversed(messages) if m.get("role") == role), messages[-1])


def _message_text(message: dict[str, Any]) -> str | None:
    content = message.get("content")
    if isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                return part
            if isinstance(part, dict) and part.get("type") in ("text", "output_text"):
                text = part.get("text")
                return text if isinstance(text, str) else None
    elif isinstance(content, str):
        return content
    return ""


def _usage(span: Any) -> dict[str, Any] | None:
    """A span's ``mlflow.chat.tokenUsage`` dict, or None; a stored span whose payload text
    does not mention the key is not decoded."""
    row = getattr(span, "_row", None)
    packed = row[9] if row is not None and len(row) > 9 else None
    if isinstance(packed, str) and keys.TOKEN_USAGE not in packed:
        return None
    raw = getattr(span, "_raw_attributes", None)
    return usage_dict((raw if isinstance(raw, dict) else span.attributes).get(keys.TOKEN_USAGE))


def token_usage(spans: list[Any]) -> dict[str, Any] | None:
    """Token counts summed over ``spans`` as MLflow's ``aggregate_usage_from_spans``: a
    span's counts are added unless an ancestor had counts of its own (the ancestor's already
    include them); input/output/total always present, cache counts when some span has
    them. None when no span has token usage."""
    usages = {}
    for span in spans:
        usage = _usage(span)
        if usage is not None:
            usages[span.span_id] = usage
    if not usages:
        return None
    if len(usages) == 1:  # one span with counts (the common case): no tree to walk
        return aggregate_usage(usages, {})
    return aggregate_usage(usages, {span.span_id: span.parent_id for span in spans})


def usage_dict(value: Any) -> dict[str, Any] | None:
    """A ``mlflow.chat.tokenUsage`` attribute value as a dict (JSON text decoded), or None."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def aggregate_usage(
    usages: dict[Any, dict[str, Any]], parents: dict[Any, Any]
) -> dict[str, Any] | None:
    """``token_usage`` over the spans' usage dicts by span id (``parents``: each span's
    parent id; unused when there is one usage)."""
    if not usages:
        return None
    totals: dict[str, Any] = dict.fromkeys(_TOKEN_KEYS, 0)
    for usage in _outermost(usages, parents):
        _add(totals, usage)
    return totals


def _outermost(values: dict[Any, dict[str, Any]], parents: dict[Any, Any]) -> list[Any]:
    """The values of spans no ancestor of which has a value (an ancestor's own counts
    already include its descendants', as MLflow aggregates them)."""
    if len(values) == 1:
        return list(values.values())
    out = []
    for span_id, value in values.items():
        parent, seen = parents.get(span_id), {span_id}
        while parent is not None and parent in parents and parent not in seen:
            if parent in values:
                break
            seen.add(parent)
            parent = parents[parent]
        else:
            out.append(value)
    return out


def _add(totals: dict[str, Any], usage: dict[str, Any]) -> None:
    for key in _TOKEN_KEYS:
        totals[key] += usage.get(key, 0)
    for key in _CACHE_TOKEN_KEYS:
        if key in usage:
            totals[key] = totals.get(key, 0) + usage[key]


# Cost ---------------------------------------------------------------------------------------
_COST_FIELDS = ("input_cost", "output_cost", "total_cost")


def cost_dict(value: Any) -> dict[str, float] | None:
    """A span cost attribute (``keys.COST_KEYS``: a number, a ``{"input_cost",
    "output_cost", "total_cost"}`` dict, or either as JSON text) as a dict of its finite
    numbers, or None."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return {"total_cost": float(value)} if value - value == 0 else None
    if not isinstance(value, dict):
        return None
    out = {
        k: float(v)
        for k, v in value.items()
        if k in _COST_FIELDS
        and isinstance(v, (int, float))
        and not isinstance(v, bool)
        and v - v == 0
    }
    return out or None


def span_cost_value(attributes: dict[str, Any]) -> dict[str, float] | None:
    """The span's own cost (the first cost key it has that holds one), or None."""
    for key in keys.COST_KEYS:
        if key in attributes:
            found = cost_dict(attributes[key])
            if found is not None:
                return found
    return None


def aggregate_cost(
    costs: dict[Any, dict[str, float]], parents: dict[Any, Any]
) -> dict[str, float] | None:
    """``mlflow.trace.cost``: input, output and total cost summed over the spans' own
    costs by span id (a span under one with a cost is not added again), as MLflow sums
    ``mlflow.llm.cost``; None without any."""
    if not costs:
        return None
    totals = dict.fromkeys(_COST_FIELDS, 0.0)
    for cost in _outermost(costs, parents):
        for key in _COST_FIELDS:
            totals[key] += cost.get(key, 0.0)
    return totals


def trace_cost_metadata(spans: list[Any]) -> dict[str, float] | None:
    """``aggregate_cost`` over the spans of a trace (a stored span whose attribute text
    mentions no cost key is not decoded)."""
    costs = {}
    for span in spans:
        row = getattr(span, "_row", None)
        packed = row[9] if row is not None and len(row) > 9 else None
        if isinstance(packed, str) and ".cost" not in packed:
            continue
        raw = getattr(span, "_raw_attributes", None)
        found = span_cost_value(raw if isinstance(raw, dict) else span.attributes)
        if found is not None:
            costs[span.span_id] = found
    if len(costs) <= 1:
        return aggregate_cost(costs, {})
    return aggregate_cost(costs, {span.span_id: span.parent_id for span in spans})
