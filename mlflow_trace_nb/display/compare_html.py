"""A ``TraceComparison`` as static HTML: one jinja2 template with autoescaping, no script.

Rows are the aligned span paths (indented by depth), with both statuses, latencies, tokens
and costs, the ``b - a`` deltas, and the input/output diffs folded in ``<details>``. At most
``MAX_ROWS`` rows are drawn, changed ones first when there are more.
"""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from mlflow_trace_nb._internal.cost import format_cost

if TYPE_CHECKING:
    import jinja2

    from mlflow_trace_nb._internal.compare import SpanComparison, TraceComparison

__all__ = ["MAX_ROWS", "render_comparison"]

#: Span rows drawn; the rest are counted.
MAX_ROWS = 300


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mlflow_trace_nb.display", "templates"),
        autoescape=True,  # span names, models and diffs are untrusted
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("compare.html.j2")


def _ms(value: float | None) -> str:
    if value is None:
        return "\u2014"
    return f"{value:.3g} ms" if value < 10 else f"{value:,.1f} ms"


def _signed_ms(value: float | None) -> str:
    return "" if value is None else f"{value:+,.1f} ms"


def _signed_int(value: int | None) -> str:
    return "" if not value else f"{value:+,}"


def _signed_cost(value: float | None, a: float | None, b: float | None) -> str:
    if value is None:  # a side has no price (unknown model, or no LLM call there)
        return "cost unknown"
    if value == 0:
        return ""
    sign = "+" if value > 0 else "\u2212"
    return sign + format_cost(abs(value))


def _diff_lines(text: str | None) -> list[SimpleNamespace]:
    if not text:
        return []
    lines = []
    for line in text.splitlines():
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "ctx")
        lines.append(SimpleNamespace(kind=kind, text=line))
    return lines


def _row(s: SpanComparison) -> SimpleNamespace:
    has_cost = s.cost_a is not None or s.cost_b is not None or s.tokens_a or s.tokens_b
    return SimpleNamespace(
        name=s.name,
        path=s.path,
        indent=f"{min(s.depth, 30) * 12}",
        only_in=s.only_in or "",
        status=(s.status_a or "\u2014")
        + ("" if s.status_a == s.status_b else f" \u2192 {s.status_b or '—'}"),
        status_changed=s.status_a != s.status_b,
        latency=f"{_ms(s.latency_a_ms)} \u2192 {_ms(s.latency_b_ms)}",
        latency_delta=_signed_ms(s.latency_delta_ms),
        tokens_delta=_signed_int(s.tokens_delta),
        cost_delta=_signed_cost(s.cost_delta, s.cost_a, s.cost_b) if has_cost else "",
        model=s.model_b or s.model_a or "",
        inputs=_diff_lines(s.inputs_diff),
        outputs=_diff_lines(s.outputs_diff),
        inputs_changed=s.inputs_changed,
        outputs_changed=s.outputs_changed,
    )


def render_comparison(cmp: TraceComparison) -> str:
    """The comparison as one self-contained HTML fragment (no script, no network)."""
    spans = cmp.spans
    if len(spans) > MAX_ROWS:
        changed = {id(s) for s in cmp.changed}
        keep = {id(s) for s in spans if id(s) in changed}
        for s in spans:
            if len(keep) >= MAX_ROWS:
                break
            keep.add(id(s))
        spans = [s for s in spans if id(s) in keep][:MAX_ROWS]
    t = cmp.totals
    totals: dict[str, Any] = {
        "latency": f"{_ms(t.get('latency_a_ms'))} \u2192 {_ms(t.get('latency_b_ms'))}",
        "latency_delta": _signed_ms(t.get("latency_delta_ms")),
        "tokens": f"{t.get('tokens_a', 0):,} \u2192 {t.get('tokens_b', 0):,}",
        "cost": f"{format_cost(t.get('cost_a'))} \u2192 {format_cost(t.get('cost_b'))}",
        "status": f"{t.get('status_a')} \u2192 {t.get('status_b')}",
    }
    return _template().render(
        a_id=cmp.a_id,
        b_id=cmp.b_id,
        a_name=cmp.a_name or "",
        b_name=cmp.b_name or "",
        totals=totals,
        rows=[_row(s) for s in spans],
        changed=len(cmp.changed),
        total_rows=len(cmp.spans),
        hidden=len(cmp.spans) - len(spans),
    )
