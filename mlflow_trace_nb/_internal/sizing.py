"""Cheap estimates of what queued traces cost in memory, for the queues' byte bounds.

The queues (the local write-behind queue and the remote send queues) are bounded in spans
and in bytes. Measuring an object graph exactly (``sys.getsizeof`` walks, serialising) is far
too slow for the thread that ends a trace, so the estimate is a constant per span (a
``LiveSpan`` with its small dicts, measured with ``tracemalloc`` at about 500 bytes) plus the
lengths of the strings and containers in its inputs, outputs and attributes, looked at three
levels deep and at most a few items per container (the rest extrapolated). That catches what
makes a span big (a long prompt, a long completion, a list of messages or documents) at a
cost of a few hundred nanoseconds per span. Traces with many spans are sampled: a few spans
spread over the trace are measured and the result scaled, so a 300-span trace costs as much
to estimate as a 16-span one.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SPAN_BYTES", "estimate_item", "estimate_spans"]

#: Memory of one span without its payloads (object, slots, small dicts), in bytes.
SPAN_BYTES = 500
#: Items looked at per container, by depth; longer containers are extrapolated from these.
_ITEMS = (8, 4, 2)
#: Spans measured in one trace; larger traces are sampled evenly and scaled.
_SAMPLE = 16


def _measure(value: Any, depth: int) -> int:
    cls = type(value)
    if cls is str or cls is bytes:
        return 49 + len(value)
    if cls is dict or cls is list or cls is tuple:
        size = len(value)
        if not size or depth >= 3:
            return 64 + 64 * size
        limit = _ITEMS[depth]
        total = 0
        seen = 0
        for item in value.values() if cls is dict else value:
            total += _measure(item, depth + 1)
            seen += 1
            if seen == limit:
                break
        if seen < size:
            total = total * size // seen
        return 64 + 32 * size + total
    return 32


def estimate_value(value: Any) -> int:
    """Approximate bytes held by a payload (strings and containers, three levels deep:
    enough to reach the text of ``{"messages": [{"content": ...}]}``)."""
    return 0 if value is None else _measure(value, 0)


def _span_bytes(span: Any) -> int:
    size = SPAN_BYTES
    payload = span.inputs
    if payload is not None:
        size += estimate_value(payload)
    payload = span.outputs
    if payload is not None:
        size += estimate_value(payload)
    payload = getattr(span, "_raw_attributes", None)  # a span: the attributes set on it
    if payload is None:  # a span record
        payload = span.attributes
    if payload:
        size += _measure(payload, 1)
    return size


def estimate_spans(spans: list[Any] | tuple[Any, ...]) -> int:
    """Approximate bytes held by ``spans`` (a trace's spans; sampled when there are many)."""
    count = len(spans)
    if count <= _SAMPLE:
        return sum(_span_bytes(span) for span in spans)
    step = count / _SAMPLE
    sampled = sum(_span_bytes(spans[int(i * step)]) for i in range(_SAMPLE))
    return sampled * count // _SAMPLE


def estimate_item(item: Any) -> tuple[int, int]:
    """``(spans, bytes)`` of a queued item: a span record, a list of spans, or anything else
    (counted as one span of the constant size). Never raises."""
    try:
        if hasattr(item, "inputs") and hasattr(item, "events"):  # a span (record)
            return 1, _span_bytes(item)
        spans = getattr(item, "spans", None)
        if type(spans) is list:  # a list of spans
            return len(spans), estimate_spans(spans)
    except Exception:  # an odd payload must not break the queue
        pass
    return 1, SPAN_BYTES
