"""Traces -> the compact JSON payload the notebook widget draws.

The payload keeps the widget state small and quick to build for big traces:

- Every span is a row of a column table (names, types and statuses interned in a string
  table; times in microseconds from the trace start; parents as row indices), so a
  10,000-span trace costs a few hundred KB and no payload is decoded to build it.
- Full details (inputs, outputs, attributes, events, chat) are inlined only for the first
  ``MAX_INLINE_DETAILS`` spans within ``INLINE_BUDGET`` characters; the widget asks the
  kernel for the others when one is selected (``span_detail``).
- A value whose JSON is longer than ``PREVIEW_CHARS`` travels as a text preview plus its
  full size; the widget asks for the full value on demand (``full_value``).

Besides the span table each trace entry carries what the trace list and the trace detail show
without a kernel (``display.summary``): ``preview_in`` / ``preview_out``, ``tags``, ``metadata``
and ``models`` (span index -> model name, for LLM spans).

Works on stored ``Trace`` objects and on ``LiveTrace`` objects still being recorded (spans
without an end are marked running).

Fields added for the view v2 (tokens and cost from ``mlflow_trace_nb._internal.cost``; costs are USD
floats, ``null`` = "cost unknown", never a guess):

- ``trace.llm``: ``{span index: {"model": str|null, "provider": str|null, "cost":
  float|null}}`` for every span with token usage (its tokens stay in ``trace.tokens``).
- ``trace.subtree``: ``{span index: [input, output, total, cost, cost_known, unknown]}`` for
  every span whose subtree (itself and its descendants) has token usage: token sums, the
  cost (``null`` unless every call under it was priced), the sum of the priced calls and the
  number of calls that could not be priced.
- ``trace.totals``: the same for the whole trace as a dict: ``input_tokens``,
  ``output_tokens``, ``total_tokens``, ``cost`` (null unless all priced), ``cost_known``,
  ``priced``, ``unknown``, ``models`` (up to 20 names), ``currency`` (``"USD"``).
- ``trace.tags``: the trace's tags (string to string; cell tags included).
- ``trace.started_at``: the absolute start, ISO 8601 in UTC (``start_ns`` is the same in ns).
- detail ``provider`` and ``cost`` (the span's ``mlflow.llm.provider`` and its cost), and
  ``model`` now also found in ``model``/``model_name`` attributes or inputs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.cost import span_cost, span_model, span_tokens, trace_cost
from mlflow_trace_nb._internal.span_tree import parent_indices
from mlflow_trace_nb._internal.timestamps import utc_datetime
from mlflow_trace_nb.display.chat import chat_messages, chat_tools
from mlflow_trace_nb.display.summary import MODEL_TYPES, model_name, own_attributes, trace_extras

if TYPE_CHECKING:
    from typing import TypeAlias

    from mlflow_trace_nb._internal.records import TraceView
    from mlflow_trace_nb.entities import Span, Trace

    AnyTrace: TypeAlias = Trace | TraceView  # stored, or still recorded (records' protocol)

__all__ = [
    "FULL_VALUE_CHARS",
    "INLINE_BUDGET",
    "MAX_INLINE_DETAILS",
    "MAX_SPANS",
    "PREVIEW_CHARS",
    "build_payload",
    "full_value",
    "search_spans",
    "span_detail",
    "trace_spans",
]

#: Characters of one value's JSON sent in a detail; longer values are previews.
PREVIEW_CHARS = 4_000
#: Spans whose details are inlined in the payload (the rest are fetched on demand).
MAX_INLINE_DETAILS = 100
#: Characters of inlined details per payload.
INLINE_BUDGET = 150_000
#: Spans per trace in the payload; the rest are counted.
MAX_SPANS = 50_000
#: Longest full value sent on request.
FULL_VALUE_CHARS = 5_000_000

_CHAT_TYPES = frozenset({"CHAT_MODEL", "LLM"})


def _is_live(trace: Any) -> bool:
    return not hasattr(trace, "info")


def trace_spans(trace: AnyTrace) -> list[Span]:
    """The spans of a stored or live trace (a snapshot list)."""
    return list(trace.spans)


def _jsonable(value: Any, live: bool) -> Any:
    if not live:
        return value
    from mlflow_trace_nb._internal.serialization import to_jsonable

    return to_jsonable(value)


def _dump(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except Exception:
        return json.dumps(str(value))


def _value(value: Any, live: bool) -> dict[str, Any]:
    """``{"j": value}`` when small, else ``{"p": preview text, "n": full chars}``."""
    value = _jsonable(value, live)
    text = _dump(value)
    if len(text) <= PREVIEW_CHARS:
        return {"j": value}
    return {"p": text[:PREVIEW_CHARS], "n": len(text)}


def _tokens(span: Span) -> list[int] | None:
    usage = span_tokens(span)
    if usage is None:
        return None
    return [usage.input_tokens, usage.output_tokens, usage.total_tokens]


def _exception(span: Span) -> dict[str, str] | None:
    for event in reversed(span.events):
        if event.name == "exception":
            attrs = event.attributes
            return {
                "type": str(attrs.get("exception.type", "")),
                "message": str(attrs.get("exception.message", ""))[:PREVIEW_CHARS],
                "stacktrace": str(attrs.get("exception.stacktrace", ""))[:20_000],
            }
    return None


def span_detail(trace: AnyTrace, index: int, spans: Sequence[Span] | None = None) -> dict[str, Any]:
    """Everything the detail pane shows about span ``index`` of ``trace``."""
    spans = trace_spans(trace) if spans is None else spans
    span = spans[index]
    live = _is_live(trace)
    attributes = own_attributes(span)
    start = span.start_time_ns
    model, provider = span_model(span)
    cost = span_cost(span)
    detail: dict[str, Any] = {
        "id": span.span_id,
        "name": span.name,
        "type": span.span_type or "UNKNOWN",
        "status": span.status_code,
        "message": span.status_message[:PREVIEW_CHARS],
        "start_ns": start,
        "end_ns": span.end_time_ns,
        "inputs": _value(span.inputs, live),
        "outputs": _value(span.outputs, live),
        "attributes": _value(attributes, live),
        "events": [
            {
                "name": e.name,
                "offset_us": (e.timestamp_ns - start) // 1000,
                "attributes": _value(e.attributes, live),
            }
            for e in span.events[:200]
        ],
        "exception": _exception(span),
        "model": model,
        "provider": provider,
        "cost": cost.cost if cost is not None else None,
        "tokens": _tokens(span),
        "chat": None,
        "tools": chat_tools(_jsonable(attributes.get(keys.CHAT_TOOLS), live)),
    }
    if (span.span_type or "") in _CHAT_TYPES:
        detail["chat"] = chat_messages(_jsonable(span.inputs, live), _jsonable(span.outputs, live))
    return detail


def full_value(trace: AnyTrace, index: int, field: str) -> str:
    """The full JSON text of one value of span ``index`` (``inputs``, ``outputs``,
    ``attributes`` or ``events``), cut at ``FULL_VALUE_CHARS``."""
    span = trace_spans(trace)[index]
    live = _is_live(trace)
    if field == "events":
        value: Any = [e.to_dict() for e in span.events]
    elif field in ("inputs", "outputs", "attributes"):
        value = getattr(span, field)
    else:
        raise ValueError(f"unknown field {field!r}")
    text = json.dumps(_jsonable(value, live), ensure_ascii=False, default=str, indent=1)
    return text[:FULL_VALUE_CHARS]


def _search_text(span: Span, live: bool) -> str:
    parts = [span.name, span.span_type or "", span.status_code, span.status_message]
    for value in (span.inputs, span.outputs, span._raw_attributes):
        parts.append(_dump(_jsonable(value, live)))
    for event in span.events:
        parts.append(event.name)
        parts.append(_dump(_jsonable(event.attributes, live)))
    return "\n".join(parts).lower()


def search_spans(trace: AnyTrace, query: str, cache: dict[int, str] | None = None) -> list[int]:
    """Indices of the spans whose name, type, status or content contains ``query``
    (case-insensitive). ``cache`` keeps each ended span's searchable text between calls."""
    needle = query.lower()
    if not needle:
        return []
    live = _is_live(trace)
    hits = []
    for index, span in enumerate(trace_spans(trace)[:MAX_SPANS]):
        text = cache.get(index) if cache is not None else None
        if text is None:
            text = _search_text(span, live)
            if cache is not None and span.end_time_ns is not None:
                cache[index] = text
        if needle in text:
            hits.append(index)
    return hits


def trace_request_id(trace: AnyTrace) -> str:
    """The id of a stored or live trace (``tr-...``)."""
    return str(trace.request_id)


def _trace_meta(trace: AnyTrace, spans: Sequence[Span]) -> tuple[str, str, str, bool]:
    if _is_live(trace):
        live_trace: Any = trace
        root = live_trace.root
        name = root.name if root is not None else "?"
        running = not live_trace.closed
        status = "RUNNING" if running else (root.status_code if root is not None else "UNSET")
        return live_trace.request_id, name, status, running
    stored: Any = trace
    root = stored.data.root
    name = stored.info.name or (root.name if root is not None else "?")
    return stored.request_id, name, stored.status, False


def _iso(ns: int) -> str | None:
    moment = utc_datetime(ns)
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def trace_payload(trace: AnyTrace, details: dict[int, Any] | None = None) -> dict[str, Any]:
    """One trace's entry in the payload (``details``: inlined span details by index)."""
    all_spans = trace_spans(trace)
    spans = all_spans[:MAX_SPANS]
    request_id, name, status, running = _trace_meta(trace, spans)
    strings: dict[str, int] = {}
    intern = strings.setdefault
    names, types, statuses, starts, durs = [], [], [], [], []
    parents = parent_indices(spans)  # live spans linked by object: no id formatting
    models: dict[str, int] = {}
    t0 = min((s.start_time_ns for s in spans), default=0)
    now_ns = time.time_ns()
    end_max = t0
    for i, span in enumerate(spans):
        names.append(intern(span.name, len(strings)))
        types.append(intern(span.span_type or "UNKNOWN", len(strings)))
        end = span.end_time_ns
        statuses.append(intern("RUNNING" if end is None else span.status_code, len(strings)))
        start = span.start_time_ns
        starts.append((start - t0) // 1000)
        if end is None:
            durs.append(-1)
            if now_ns > end_max:
                end_max = now_ns
        else:
            durs.append((end - start) // 1000)
            if end > end_max:
                end_max = end
        if span.span_type in MODEL_TYPES:
            model_text = model_name(span)
            if model_text is not None:
                models[str(i)] = intern(model_text, len(strings))
    costs = trace_cost(trace, spans, parents)  # one pass over the token usage of every span
    tokens = {
        str(i): [c.tokens.input_tokens, c.tokens.output_tokens, c.tokens.total_tokens]
        for i, c in enumerate(costs.spans)
        if c is not None
    }
    return {
        "id": request_id,
        "name": name,
        "status": status,
        "running": running,
        "total_us": (end_max - t0) // 1000,
        "start_ns": t0,
        "count": len(all_spans),
        "strings": list(strings),
        "cols": {
            "name": names,
            "type": types,
            "status": statuses,
            "parent": parents,
            "start": starts,
            "dur": durs,
        },
        "tokens": tokens,
        "llm": {
            str(i): {"model": c.model, "provider": c.provider, "cost": c.cost}
            for i, c in enumerate(costs.spans)
            if c is not None
        },
        "subtree": {
            str(i): [
                t.input_tokens,
                t.output_tokens,
                t.total_tokens,
                t.cost,
                t.cost_known,
                t.unknown,
            ]
            for i, t in enumerate(costs.subtree)
            if t is not None
        },
        "totals": costs.total.to_dict(),
        "started_at": _iso(t0),
        "models": models,
        "details": {str(k): v for k, v in (details or {}).items()},
        **trace_extras(trace, spans),
    }


def inline_details(
    trace: AnyTrace, cache: dict[int, Any] | None = None, budget: int = INLINE_BUDGET
) -> tuple[dict[int, Any], int]:
    """Details of the first spans within ``budget`` characters of JSON, and the characters
    they take."""
    found: dict[int, Any] = {}
    spans = trace_spans(trace)
    used = 0
    for index, span in enumerate(spans[:MAX_INLINE_DETAILS]):
        # a running span's detail is a snapshot (the kernel is busy until the cell ends, so
        # it could not answer a request for it); an ended span's detail never changes
        detail = cache.get(index) if cache is not None else None
        if detail is None:
            try:
                detail = span_detail(trace, index, spans)
            except Exception:  # a payload mutated by another thread while we read it
                continue
            if cache is not None and span.end_time_ns is not None:
                cache[index] = detail
        size = len(_dump(detail))
        if used + size > budget:
            break
        used += size
        found[index] = detail
    return found, used


def build_payload(
    traces: Sequence[AnyTrace],
    *,
    more: int = 0,
    inline: bool = True,
    caches: list[dict[int, Any]] | None = None,
) -> dict[str, Any]:
    """The widget payload for ``traces`` (``more``: traces left out, counted only).

    Example::

        payload = build_payload([mlflow.get_last_active_trace()])
    """
    entries = []
    budget = INLINE_BUDGET
    for position, trace in enumerate(traces):
        cache = caches[position] if caches is not None else None
        details: dict[int, Any] = {}
        if inline and budget > 0:
            details, used = inline_details(trace, cache, budget)
            budget -= used
        entries.append(trace_payload(trace, details))
    return {"v": 1, "traces": entries, "more": more}
