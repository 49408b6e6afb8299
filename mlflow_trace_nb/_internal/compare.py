"""Compare two traces span by span: what changed between two runs of a notebook cell.

``compare_traces(a, b)`` aligns the spans of ``a`` (the baseline) and ``b`` by their path in
the tree: the names from the root down, each with its index among same-named siblings
(``agent/retrieve[0]/llm[1]``), so a renamed or added span leaves the others aligned. Per
path it reports status, latency, tokens and cost of both sides and ``b - a`` deltas, and a
compact text diff of the inputs and of the outputs (pretty JSON, unified diff, 1 line of
context). ``compare_traces(trace)`` compares a trace with the earlier run of its cell
(``previous_run``, from the cell tags ``mlflow.notebook.cell_id`` / ``cell_run`` /
``execution_count``).

The result has a DataFrame view (``.df`` / ``to_pandas()``), an escaped, script-free HTML
view (``_repr_html_``, shown by Jupyter) and ``to_dict()`` for the notebook front end.

Example::

    cmp = mlflow_trace_nb.compare_traces(trace)   # with the previous run of its cell
    cmp.df[["path", "latency_delta_ms", "outputs_changed"]]
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from mlflow_trace_nb._internal.cell_history import previous_run
from mlflow_trace_nb._internal.cost import trace_cost
from mlflow_trace_nb._internal.span_tree import parent_indices, preorder

if TYPE_CHECKING:
    import pandas as pd

    from mlflow_trace_nb.entities import Span, Trace

__all__ = ["MAX_DIFFS", "SpanComparison", "TraceComparison", "compare_traces", "previous_run"]

#: Spans whose inputs/outputs get a text diff (the rest only say whether they changed).
MAX_DIFFS = 500
#: Lines of one diff kept (the rest are counted).
MAX_DIFF_LINES = 40
#: Characters of one value compared as JSON text.
MAX_VALUE_CHARS = 50_000


@dataclass(slots=True)
class SpanComparison:
    """One aligned span path: both sides (None where the span exists on one side only)."""

    path: str
    depth: int
    name: str
    only_in: str | None  # "a", "b" or None (in both)
    status_a: str | None
    status_b: str | None
    latency_a_ms: float | None
    latency_b_ms: float | None
    latency_delta_ms: float | None
    tokens_a: int | None
    tokens_b: int | None
    tokens_delta: int | None
    cost_a: float | None
    cost_b: float | None
    cost_delta: float | None
    model_a: str | None
    model_b: str | None
    inputs_changed: bool
    outputs_changed: bool
    inputs_diff: str | None
    outputs_diff: str | None


@dataclass(slots=True)
class TraceComparison:
    """The span-by-span comparison of trace ``a`` (baseline) with trace ``b``."""

    a_id: str
    b_id: str
    a_name: str | None
    b_name: str | None
    spans: list[SpanComparison]
    totals: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> list[SpanComparison]:
        """The aligned spans that differ (present on one side only, status, inputs or
        outputs)."""
        return [
            s
            for s in self.spans
            if s.only_in or s.status_a != s.status_b or s.inputs_changed or s.outputs_changed
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (what the notebook front end draws)."""
        return {
            "v": 1,
            "a": {"id": self.a_id, "name": self.a_name},
            "b": {"id": self.b_id, "name": self.b_name},
            "totals": dict(self.totals),
            "spans": [asdict(s) for s in self.spans],
        }

    def to_pandas(self) -> pd.DataFrame:
        """One row per aligned span path (columns: the ``SpanComparison`` fields)."""
        import pandas as pd

        columns = list(SpanComparison.__dataclass_fields__)
        return pd.DataFrame([asdict(s) for s in self.spans], columns=columns)

    @property
    def df(self) -> pd.DataFrame:
        """Alias of ``to_pandas()``."""
        return self.to_pandas()

    def _repr_html_(self) -> str:
        from mlflow_trace_nb.display.compare_html import render_comparison

        return render_comparison(self)

    def __repr__(self) -> str:
        t = self.totals
        return (
            f"TraceComparison({self.a_id} -> {self.b_id}: {len(self.spans)} span paths, "
            f"{len(self.changed)} changed, latency {_signed(t.get('latency_delta_ms'), ' ms')}, "
            f"tokens {_signed(t.get('tokens_delta'))}, cost {_signed(t.get('cost_delta'), ' USD')})"
        )


def _signed(value: Any, unit: str = "") -> str:
    if value is None:
        return "unknown"
    if isinstance(value, float):
        return f"{value:+.6g}{unit}"
    return f"{value:+,}{unit}"


def _resolve(trace: Any) -> Trace:
    from mlflow_trace_nb.entities import Trace

    if isinstance(trace, Trace):
        return trace
    if isinstance(trace, str):
        from mlflow_trace_nb._internal.search import flush, get_trace

        found = get_trace(trace)
        if found is None:
            flush()
            found = get_trace(trace)
        if found is None:
            raise ValueError(f"no trace with id {trace!r}")
        return found
    to_trace = getattr(trace, "to_trace", None)  # a LiveTrace of this process
    if callable(to_trace):
        resolved: Trace = to_trace()
        return resolved
    raise TypeError(f"expected a Trace or a trace id, not {type(trace).__name__}")


def _paths(spans: list[Span], parents: list[int]) -> list[tuple[int, str, int]]:
    """(index, path, depth) per span in tree order; a sibling's index counts same names."""
    out: list[tuple[int, str, int]] = []
    path_of: dict[int, str] = {}
    seen: dict[tuple[int, str], int] = {}
    starts = [s.start_time_ns for s in spans]
    for index, depth in preorder(parents, starts):
        parent = parents[index] if parents[index] != index else -1
        name = spans[index].name
        ordinal = seen.get((parent, name), 0)
        seen[(parent, name)] = ordinal + 1
        prefix = path_of.get(parent, "") if parent >= 0 else ""
        path = f"{prefix}/{name}[{ordinal}]" if prefix else f"{name}[{ordinal}]"
        path_of[index] = path
        out.append((index, path, depth))
    return out


def _text(value: Any) -> str:
    try:
        text = json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False, default=repr)
    except Exception:
        text = repr(value)
    return text[:MAX_VALUE_CHARS]


def _diff(a: str, b: str) -> str:
    import difflib

    lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=1))[2:]
    if len(lines) > MAX_DIFF_LINES:
        more = len(lines) - MAX_DIFF_LINES
        lines = [*lines[:MAX_DIFF_LINES], f"\u2026 {more} more diff lines"]
    return "\n".join(line[:500] for line in lines)


def _ms(span: Span | None) -> float | None:
    if span is None or span.end_time_ns is None:
        return None
    return (span.end_time_ns - span.start_time_ns) / 1e6


def _delta(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    return b - a


def _values(
    sa: Span | None, sb: Span | None, field_name: str, with_diff: bool
) -> tuple[bool, str | None]:
    if sa is None or sb is None:
        return False, None
    ta, tb = _text(getattr(sa, field_name)), _text(getattr(sb, field_name))
    if ta == tb:
        return False, None
    return True, (_diff(ta, tb) if with_diff else None)


def compare_traces(a: Any, b: Any = None) -> TraceComparison:
    """Compare trace ``a`` (the baseline) with ``b``, span by span; with one argument,
    compare the earlier run of ``a``'s cell (baseline) with ``a``.

    Args:
        a: a ``Trace`` or a trace id (``tr-...``).
        b: another trace or id; None to use ``previous_run(a)``.

    Returns:
        A ``TraceComparison`` (``.df``, ``.changed``, ``to_dict()``; Jupyter shows it as HTML).
        Deltas are ``b`` minus ``a``; a cost delta is None when a side's cost is unknown.

    Example::

        mlflow_trace_nb.compare_traces(old_trace, new_trace).df
    """
    first = _resolve(a)
    if b is None:
        earlier = previous_run(first)
        if earlier is None:
            raise ValueError(
                f"no earlier run of the cell that made {first.request_id} was found "
                "(the trace needs the mlflow.notebook.cell_id tag of a notebook cell)"
            )
        first, second = earlier, first
    else:
        second = _resolve(b)
    return _compare(first, second)


def _side(trace: Trace) -> tuple[list[Span], dict[str, tuple[int, int]], Any]:
    spans = list(trace.spans)
    parents = parent_indices(spans)
    costs = trace_cost(trace, spans, parents)
    paths = {path: (index, depth) for index, path, depth in _paths(spans, parents)}
    return spans, paths, costs


def _compare(ta: Trace, tb: Trace) -> TraceComparison:
    spans_a, paths_a, costs_a = _side(ta)
    spans_b, paths_b, costs_b = _side(tb)
    order = list(paths_a) + [p for p in paths_b if p not in paths_a]
    rows = []
    diffs = 0
    for path in order:
        ia, depth = paths_a.get(path, (-1, 0))
        ib, depth_b = paths_b.get(path, (-1, depth))
        sa = spans_a[ia] if ia >= 0 else None
        sb = spans_b[ib] if ib >= 0 else None
        ca = costs_a.spans[ia] if sa is not None else None
        cb = costs_b.spans[ib] if sb is not None else None
        with_diff = diffs < MAX_DIFFS
        in_changed, in_diff = _values(sa, sb, "inputs", with_diff)
        out_changed, out_diff = _values(sa, sb, "outputs", with_diff)
        diffs += in_changed or out_changed
        la, lb = _ms(sa), _ms(sb)
        tok_a = ca.tokens.total_tokens if ca is not None else None
        tok_b = cb.tokens.total_tokens if cb is not None else None
        cost_a = ca.cost if ca is not None else None
        cost_b = cb.cost if cb is not None else None
        rows.append(
            SpanComparison(
                path=path,
                depth=depth if sa is not None else depth_b,
                name=sa.name if sa is not None else (sb.name if sb is not None else "?"),
                only_in=None if sa is not None and sb is not None else ("a" if sa else "b"),
                status_a=sa.status_code if sa is not None else None,
                status_b=sb.status_code if sb is not None else None,
                latency_a_ms=la,
                latency_b_ms=lb,
                latency_delta_ms=_delta(la, lb),
                tokens_a=tok_a,
                tokens_b=tok_b,
                tokens_delta=_delta(tok_a, tok_b),
                cost_a=cost_a,
                cost_b=cost_b,
                cost_delta=_delta(cost_a, cost_b),
                model_a=ca.model if ca is not None else None,
                model_b=cb.model if cb is not None else None,
                inputs_changed=in_changed,
                outputs_changed=out_changed,
                inputs_diff=in_diff,
                outputs_diff=out_diff,
            )
        )
    totals = _totals(ta, tb, costs_a.total, costs_b.total)
    return TraceComparison(ta.request_id, tb.request_id, ta.name, tb.name, rows, totals)


def _latency_ms(trace: Trace) -> float | None:
    spans = trace.spans
    ends = [s.end_time_ns for s in spans if s.end_time_ns is not None]
    if not spans or not ends:
        return None
    return (max(ends) - min(s.start_time_ns for s in spans)) / 1e6


def _totals(ta: Trace, tb: Trace, total_a: Any, total_b: Any) -> dict[str, Any]:
    la, lb = _latency_ms(ta), _latency_ms(tb)
    return {
        "latency_a_ms": la,
        "latency_b_ms": lb,
        "latency_delta_ms": _delta(la, lb),
        "tokens_a": total_a.total_tokens,
        "tokens_b": total_b.total_tokens,
        "tokens_delta": total_b.total_tokens - total_a.total_tokens,
        "cost_a": total_a.cost,
        "cost_b": total_b.cost,
        "cost_delta": _delta(total_a.cost, total_b.cost),
        "status_a": ta.status,
        "status_b": tb.status,
    }
