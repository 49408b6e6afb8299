"""A static, self-contained HTML view of traces: the ``text/html`` fallback of the widget.

Saved notebooks, ``jupyter nbconvert --to html``, GitHub and any front end without the
widget show this view. It is one jinja2 template (``templates/static_trace.html.j2``) with
autoescaping on, an inline ``<style>`` and no script, link or network reference: every string
taken from a span (LLM output, user input) reaches the page as escaped text.

Size is bounded so a saved notebook stays small: each value is cut to ``MAX_VALUE_CHARS``
characters, at most ``MAX_SPANS`` spans are drawn per call, nesting stops at
``MAX_NESTING`` levels (browsers flatten deeper DOM trees), and once ``PAYLOAD_BUDGET``
characters of payload have been drawn, later spans show their header line only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from markupsafe import escape

from mlflow_trace_nb.entities import Trace

if TYPE_CHECKING:
    import jinja2

    from mlflow_trace_nb.entities import Span
    from mlflow_trace_nb.live_span import LiveTrace

__all__ = [
    "MAX_NESTING",
    "MAX_SPANS",
    "MAX_VALUE_CHARS",
    "PAYLOAD_BUDGET",
    "render_static_html",
]

#: Characters of one value (inputs, outputs, attributes) shown before "…truncated".
MAX_VALUE_CHARS = 2_000
#: Spans drawn per call (over all traces); the rest are counted in a note.
MAX_SPANS = 500
#: Deeper spans are drawn at this level, labelled with their real depth.
MAX_NESTING = 32
#: Payload characters drawn per call; past it, spans show their header line only.
PAYLOAD_BUDGET = 200_000

_TOKEN_USAGE = "mlflow.chat.tokenUsage"
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
    budget = _Budget(MAX_SPANS, PAYLOAD_BUDGET)
    views = [_trace_view(trace, budget) for trace in traces]
    return _template().render(traces=views, more=max(int(more), 0), max_spans=MAX_SPANS)


class _Budget:
    """What is left to draw in one call."""

    def __init__(self, spans: int, chars: int) -> None:
        self.spans = spans
        self.chars = chars

    def preview(self, value: Any) -> str | None:
        """Pretty JSON of ``value``, cut to ``MAX_VALUE_CHARS``; None once the budget is gone."""
        if self.chars <= 0:
            return None
        text = _preview(value)
        self.chars -= len(escape(text))  # what the page will hold
        return text


def _preview(value: Any) -> str:
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        value = value[: MAX_VALUE_CHARS + 1]  # do not dump megabytes to show kilobytes
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except Exception:  # circular or hostile objects
        text = _safe_repr(value)
    if len(text) > MAX_VALUE_CHARS:
        text = text[:MAX_VALUE_CHARS] + "\n\u2026truncated"
    return text


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)[: MAX_VALUE_CHARS + 1]
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _trace_view(trace: Trace | LiveTrace, budget: _Budget) -> dict[str, Any]:
    if not isinstance(trace, Trace):  # a trace still in memory: read-only copy
        trace = trace.to_trace()
    spans = list(trace.spans)
    start = min((s.start_time_ns for s in spans), default=0)
    end = max((s.end_time_ns or s.start_time_ns for s in spans), default=start)
    total = max(end - start, 1)
    drawn = []
    for span, depth in _preorder(spans):
        if budget.spans <= 0:
            break
        budget.spans -= 1
        drawn.append(_span_view(span, depth, start, total, budget))
    _set_closing_counts(drawn)
    status = str(trace.status or "UNSET")
    css, icon = _STATUS_STYLE.get(status, ("unset", "\u2022"))
    return {
        "name": trace.name or (drawn[0]["name"] if drawn else "trace"),
        "request_id": trace.request_id,
        "status": status,
        "status_class": css,
        "icon": icon,
        "duration": _format_duration(end - start if spans else None),
        "span_count": len(spans),
        "hidden_spans": len(spans) - len(drawn),
        "tokens": _format_tokens(_sum_usage(spans)),
        "tags": sorted((str(k), str(v)) for k, v in (trace.tags or {}).items()),
        "spans": drawn,
    }


def _preorder(spans: list[Span]) -> Iterator[tuple[Span, int]]:
    """Spans depth first, children by start time; orphans (parent not here) are roots.
    Iterative: a 10,000-deep chain must not hit the recursion limit."""
    ids = {s.span_id for s in spans}
    children: dict[str | None, list[Span]] = {}
    for span in spans:
        parent = span.parent_id if span.parent_id in ids else None
        children.setdefault(parent, []).append(span)
    for group in children.values():
        group.sort(key=lambda s: s.start_time_ns)
    stack = [(s, 0) for s in reversed(children.get(None, []))]
    while stack:
        span, depth = stack.pop()
        yield span, depth
        stack.extend((c, depth + 1) for c in reversed(children.get(span.span_id, [])))


def _span_view(span: Span, depth: int, start: int, total: int, budget: _Budget) -> dict[str, Any]:
    status = str(span.status_code or "UNSET")
    css, icon = _STATUS_STYLE.get(status, ("unset", "\u2022"))
    duration = span.duration_ns
    offset = (span.start_time_ns - start) / total * 100
    width = (duration or 0) / total * 100
    attributes = dict(span.attributes or {})
    usage = _usage(attributes.pop(_TOKEN_USAGE, None))
    exhausted = budget.chars <= 0
    inputs = budget.preview(span.inputs) if span.inputs is not None else None
    outputs = budget.preview(span.outputs) if span.outputs is not None else None
    return {
        "name": span.name,
        "type": span.span_type or "",
        "status": status,
        "status_class": css,
        "icon": icon,
        "duration": _format_duration(duration),
        "bar_left": f"{min(max(offset, 0.0), 100.0):.2f}",
        "bar_width": f"{min(max(width, 0.5), 100.0):.2f}",
        "depth": depth,
        "nested": min(depth, MAX_NESTING),
        "open": depth < 2,
        "inputs": inputs,
        "outputs": outputs,
        "attributes": budget.preview(attributes) if attributes else None,
        "error": _error_text(span) if status == "ERROR" else None,
        "tokens": _format_tokens(usage),
        "omitted": exhausted and (span.inputs is not None or span.outputs is not None),
        "closes": 0,
    }


def _set_closing_counts(drawn: list[dict[str, Any]]) -> None:
    """How many open ``<details>`` end after each span (preorder, clamped depths)."""
    for index, view in enumerate(drawn):
        following = drawn[index + 1]["nested"] if index + 1 < len(drawn) else 0
        view["closes"] = view["nested"] - following + 1


def _error_text(span: Span) -> str:
    for event in span.events:
        if event.name == "exception":
            kind = event.attributes.get("exception.type", "Exception")
            message = event.attributes.get("exception.message", "")
            return _cut(f"{kind}: {message}")
    return _cut(span.status_message or "error")


def _cut(text: str) -> str:
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "\u2026truncated"


def _usage(value: Any) -> dict[str, int] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict):
        return None
    usage = {}
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        number = value.get(key)
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            usage[key] = int(number)
    return usage or None


def _sum_usage(spans: list[Span]) -> dict[str, int] | None:
    total: dict[str, int] = {}
    for span in spans:
        usage = _usage((span.attributes or {}).get(_TOKEN_USAGE))
        for key, number in (usage or {}).items():
            total[key] = total.get(key, 0) + number
    return total or None


def _format_tokens(usage: dict[str, int] | None) -> str | None:
    if not usage:
        return None
    parts = [
        f"{usage[k]:,} {label}"
        for k, label in (("input_tokens", "in"), ("output_tokens", "out"))
        if k in usage
    ]
    if "total_tokens" in usage:
        parts.append(f"{usage['total_tokens']:,} total")
    return " / ".join(parts) + " tokens"


def _format_duration(ns: int | float | None) -> str:
    if ns is None:
        return "running"
    if ns < 1_000_000:
        return f"{ns / 1_000:.0f} \u00b5s"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.1f} ms"
    return f"{ns / 1_000_000_000:.2f} s"
