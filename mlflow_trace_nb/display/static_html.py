"""A static, self-contained HTML view of traces: the ``text/html`` fallback of the widget.

Saved notebooks, ``jupyter nbconvert --to html``, GitHub and any front end without the
widget show this view. It is one jinja2 template (``templates/static_trace.html.j2``) with
autoescaping on, an inline ``<style>`` and no script, link or network reference: every string
taken from a span (LLM output, user input, model names, tags, documents) reaches the page as
escaped text.

What it shows: per trace its status, duration, absolute start time (UTC), tags, tokens and
cost (``_internal.cost``); per span its type, model, tokens, cost (and the totals of its
subtree), inputs and outputs. Values are drawn readably (``static_values``): strings as text,
strings holding JSON pretty-printed, top-level dicts field by field, chat spans as a
conversation with the answer first, retriever documents as cards, long texts folded in
``<details>``; stack traces without this library's wrapper frames, and an exception that
travels up through several spans shown once (its parents point at it).

Size is bounded so a saved notebook stays small: each value is cut to ``MAX_VALUE_CHARS``
characters (the cut is marked), at most ``MAX_SPANS`` spans are drawn per call, nesting stops
at ``MAX_NESTING`` levels (browsers flatten deeper DOM trees), and once ``PAYLOAD_BUDGET``
characters of payload have been drawn, later spans show their header line only. Live traces
(``LiveTrace``) are read directly: only the drawn spans' values are made JSON-safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from mlflow_trace_nb._internal.cost import CostTotal, SpanCost, TokenUsage, format_cost, trace_cost
from mlflow_trace_nb._internal.span_tree import parent_indices, preorder
from mlflow_trace_nb._internal.timestamps import utc_datetime
from mlflow_trace_nb.display.static_values import (
    MAX_VALUE_CHARS,
    Budget,
    chat_blocks,
    clean_stacktrace,
    document_blocks,
    value_blocks,
)
from mlflow_trace_nb.display.summary import own_attributes
from mlflow_trace_nb.entities import Trace

if TYPE_CHECKING:
    import jinja2

    from mlflow_trace_nb._internal.records import TraceView as LiveTrace
    from mlflow_trace_nb.entities import Span

__all__ = [
    "MAX_NESTING",
    "MAX_SPANS",
    "MAX_VALUE_CHARS",
    "PAYLOAD_BUDGET",
    "render_static_html",
]

#: Spans drawn per call (over all traces); the rest are counted in a note.
MAX_SPANS = 500
#: Deeper spans are drawn at this level, labelled with their real depth.
MAX_NESTING = 32
#: Payload characters drawn per call; past it, spans show their header line only.
PAYLOAD_BUDGET = 400_000

_CHAT_TYPES = frozenset({"CHAT_MODEL", "LLM"})
_STATUS_STYLE = {  # status -> (css class, icon); anything else is "unset"
    "OK": ("ok", "\u2713"),
    "ERROR": ("error", "\u2717"),
    "CANCELLED": ("cancelled", "\u25cb"),
}


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mlflow_trace_nb.display", "templates"),
        autoescape=True,  # every span string is untrusted
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("static_trace.html.j2")


def render_static_html(traces: Sequence[Trace | LiveTrace], *, more: int = 0) -> str:
    """Render ``traces`` as one self-contained HTML fragment (no script, no network).

    Args:
        traces: the traces to show, in display order (stored ``Trace`` objects, or
            ``LiveTrace`` objects of the running process).
        more: how many further traces exist but are not shown ("N more traces").

    Example::

        html = render_static_html([mlflow.get_trace(request_id)])
    """
    budget = Budget(MAX_SPANS, PAYLOAD_BUDGET)
    views = [_trace_view(trace, budget) for trace in traces]
    return _template().render(traces=views, more=max(int(more), 0), max_spans=MAX_SPANS)


def _trace_meta(trace: Any) -> tuple[str | None, str, str, dict[str, Any]]:
    """name, request id, status, tags of a stored or live trace."""
    if isinstance(trace, Trace):
        tags = trace.info._own_tags  # without mlflow.traceName, as a live trace's
        return trace.name, trace.request_id, str(trace.status or "UNSET"), tags or {}
    root = trace.root
    status = "RUNNING" if not trace.closed else (root.status_code if root else "UNSET")
    name = root.name if root is not None else None
    return name, trace.request_id, str(status), dict(trace.tags or {})


def _trace_view(trace: Trace | LiveTrace, budget: Budget) -> SimpleNamespace:
    live = not isinstance(trace, Trace)
    name, request_id, status, tags = _trace_meta(trace)
    spans = list(trace.spans)
    starts = [s.start_time_ns for s in spans]
    start = min(starts, default=0)
    end = max((s.end_time_ns or s.start_time_ns for s in spans), default=start)
    total = max(end - start, 1)
    parents = parent_indices(spans)
    costs = trace_cost(trace, spans, parents)
    errors = _exceptions(spans, parents)
    drawn = []
    for index, depth in preorder(parents, starts):
        if budget.spans <= 0:
            break
        budget.spans -= 1
        view = _span_view(spans[index], depth, start, total, budget, live)
        _add_cost(view, costs.spans[index], costs.subtree[index])
        if view["status"] == "ERROR":
            view["error"] = errors.get(index) or SimpleNamespace(
                text=_cut(spans[index].status_message or "error"), stack="", origin=""
            )
        drawn.append(view)
    _set_closing_counts(drawn)
    css, icon = _STATUS_STYLE.get(status, ("unset", "\u2022"))
    return SimpleNamespace(
        name=name or (drawn[0]["name"] if drawn else "trace"),
        request_id=request_id,
        status=status,
        status_class=css,
        icon=icon,
        duration=_format_duration(end - start if spans else None),
        started=_format_start(start),
        span_count=len(spans),
        hidden_spans=len(spans) - len(drawn),
        tokens=_format_total_tokens(costs.total),
        cost=_format_total_cost(costs.total),
        tags=sorted((str(k), str(v)[:MAX_VALUE_CHARS]) for k, v in tags.items()),
        spans=[SimpleNamespace(**view) for view in drawn],
    )


def _jsonable(value: Any, live: bool) -> Any:
    if not live:
        return value
    from mlflow_trace_nb._internal.serialization import to_jsonable

    return to_jsonable(value)


def _span_view(
    span: Span, depth: int, start: int, total: int, budget: Budget, live: bool
) -> dict[str, Any]:
    status = str(span.status_code or "UNSET")
    if span.end_time_ns is None:
        status = "RUNNING"
    css, icon = _STATUS_STYLE.get(status, ("unset", "\u2022"))
    duration = span.duration_ns
    offset = (span.start_time_ns - start) / total * 100
    width = (duration or 0) / total * 100
    exhausted = budget.exhausted
    inputs, outputs = _jsonable(span.inputs, live), _jsonable(span.outputs, live)
    span_type = span.span_type or ""
    chat = docs = None
    if not exhausted and span_type in _CHAT_TYPES:
        chat = chat_blocks(inputs, outputs, budget)
    if not exhausted and chat is None and span_type == "RETRIEVER":
        docs = document_blocks(outputs, budget)
    sections = []
    if not exhausted and chat is None:
        if inputs is not None:
            sections.append(_section("inputs", "mtn-inputs", value_blocks(inputs, budget)))
        if docs is not None:
            sections.append(SimpleNamespace(docs=docs))
        elif outputs is not None:
            sections.append(_section("outputs", "mtn-outputs", value_blocks(outputs, budget)))
    attributes = own_attributes(span)  # without the mlflow.* keys made from the fields
    if attributes and not budget.exhausted:
        blocks = value_blocks(_jsonable(attributes, live), budget)
        sections.append(_section("attributes", "mtn-attributes", blocks, folded=True))
    return {
        "name": span.name,
        "type": span_type,
        "status": status,
        "status_class": css,
        "icon": icon,
        "duration": _format_duration(duration),
        "bar_left": f"{min(max(offset, 0.0), 100.0):.2f}",
        "bar_width": f"{min(max(width, 0.5), 100.0):.2f}",
        "depth": depth,
        "nested": min(depth, MAX_NESTING),
        "open": depth < 2,
        "chat": chat,
        "sections": sections,
        "error": None,
        "omitted": exhausted and (inputs is not None or outputs is not None),
        "closes": 0,
    }


def _section(label: str, css: str, blocks: list[Any], folded: bool = False) -> SimpleNamespace:
    return SimpleNamespace(label=label, cls=css, blocks=blocks, folded=folded, docs=None)


def _add_cost(view: dict[str, Any], own: SpanCost | None, subtree: CostTotal | None) -> None:
    view["model"] = own.model if own is not None else None
    view["tokens"] = _format_tokens(own.tokens) if own is not None else None
    view["cost"] = format_cost(own.cost) if own is not None else None
    view["subtree"] = None
    if subtree is not None and own is None:  # a span holding LLM calls below it
        view["subtree"] = f"\u03a3 {subtree.total_tokens:,} tokens, {_format_total_cost(subtree)}"
    view["llm"] = own is not None or subtree is not None


def _exceptions(spans: list[Span], parents: list[int]) -> dict[int, SimpleNamespace]:
    """The exception each failed span shows: the full (cleaned) stack trace where it was
    raised, a pointer to that span in the spans it travelled up through."""
    found: dict[int, tuple[str, str, str]] = {}
    for i, span in enumerate(spans):
        if span.status_code != "ERROR":
            continue
        for event in span.events:
            if event.name == "exception":
                attrs = event.attributes
                found[i] = (
                    str(attrs.get("exception.type", "Exception")),
                    str(attrs.get("exception.message", "")),
                    str(attrs.get("exception.stacktrace", "")),
                )
                break
    raised_in: dict[int, int] = {}  # span -> the child that raised the same exception
    for i in found:
        parent = parents[i]
        if parent in found and found[parent][:2] == found[i][:2]:
            raised_in[parent] = i
    views = {}
    for i, (kind, message, stack) in found.items():
        text = _cut(f"{kind}: {message}")
        if i in raised_in:
            origin, steps = raised_in[i], 0
            while origin in raised_in and steps < len(spans):  # bounded: one span deeper
                origin, steps = raised_in[origin], steps + 1
            views[i] = SimpleNamespace(text=text, stack="", origin=spans[origin].name)
            continue
        cleaned, hidden = clean_stacktrace(stack[: 4 * MAX_VALUE_CHARS])
        note = f" ({hidden} mlflow_trace_nb frame{'s' if hidden != 1 else ''} hidden)"
        views[i] = SimpleNamespace(
            text=text, stack=_cut(cleaned), hidden=note if hidden else "", origin=""
        )
    return views


def _set_closing_counts(drawn: list[dict[str, Any]]) -> None:
    """How many open ``<details>`` end after each span (preorder, clamped depths)."""
    for index, view in enumerate(drawn):
        following = drawn[index + 1]["nested"] if index + 1 < len(drawn) else 0
        view["closes"] = view["nested"] - following + 1


def _cut(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "\u2026truncated"


def _format_tokens(usage: TokenUsage) -> str:
    return (
        f"{usage.input_tokens:,} in / {usage.output_tokens:,} out / "
        f"{usage.total_tokens:,} total tokens"
    )


def _format_total_tokens(total: CostTotal) -> str | None:
    if not total.calls:
        return None
    return (
        f"{total.input_tokens:,} in / {total.output_tokens:,} out / "
        f"{total.total_tokens:,} total tokens"
    )


def _format_total_cost(total: CostTotal) -> str | None:
    if not total.calls:
        return None
    if total.unknown and total.priced:
        return f"\u2265 {format_cost(total.cost_known)} ({total.unknown} call(s) cost unknown)"
    return format_cost(total.cost)


def _format_start(ns: int) -> str | None:
    moment = utc_datetime(ns)
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _format_duration(ns: int | float | None) -> str:
    if ns is None:
        return "running"
    if ns < 1_000_000:
        return f"{ns / 1_000:.0f} \u00b5s"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.1f} ms"
    return f"{ns / 1_000_000_000:.2f} s"
