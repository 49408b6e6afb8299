"""The MIME bundle that shows traces in a notebook, and ``show_traces``.

A bundle holds three views of the same traces:

- ``application/vnd.jupyter.widget-view+json``: the interactive span tree (``TraceWidget``),
  when anywidget is installed;
- ``text/html``: a static, script-free, size-capped tree (``static_html``) that saved
  notebooks, nbconvert and GitHub show;
- ``text/plain``: one deterministic line per trace (no ids, no timings), for terminals and
  output comparison (nbval).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlflow_trace_nb.errors import report_internal_error

if TYPE_CHECKING:
    from mlflow_trace_nb.display.payload import AnyTrace
    from mlflow_trace_nb.display.widget import TraceWidget
    from mlflow_trace_nb.entities import Trace

__all__ = ["MAX_TRACES_SHOWN", "plain_text", "show_traces", "static_html", "trace_bundle"]

#: ``show_traces`` shows at most this many traces; the rest are counted.
MAX_TRACES_SHOWN = 20
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _summary(trace: AnyTrace) -> tuple[str, str, int, int, int]:
    """name, status, span count, error count, total tokens."""
    from mlflow_trace_nb.display.payload import _tokens, trace_spans

    spans = trace_spans(trace)
    if hasattr(trace, "info"):
        stored: Any = trace
        root = stored.data.root
        name = stored.info.name or (root.name if root is not None else "?")
        status = stored.status
    else:
        live: Any = trace
        name = live.root.name if live.root is not None else "?"
        status = "RUNNING" if not live.closed else live.root.status_code
    errors = sum(1 for s in spans if s.status_code == "ERROR")
    tokens = 0
    for span in spans:
        usage = _tokens(span)
        if usage is not None:
            tokens += usage[2]
    return name, status, len(spans), errors, tokens


def plain_text(traces: Sequence[AnyTrace], *, more: int = 0) -> str:
    """One line per trace: name, status, spans, errors, tokens (deterministic)."""
    lines = []
    for trace in traces:
        name, status, count, errors, tokens = _summary(trace)
        line = f"Trace {name!r}: {status}, {count} span{'s' if count != 1 else ''}"
        if errors:
            line += f", {errors} error{'s' if errors != 1 else ''}"
        if tokens:
            line += f", {tokens:,} tokens"
        lines.append(line)
    if more:
        lines.append(f"... and {more} more trace{'s' if more != 1 else ''}")
    return "\n".join(lines)


def static_html(traces: Sequence[AnyTrace], *, more: int = 0) -> str | None:
    """The script-free HTML fallback (stored traces; live ones are converted first)."""
    try:
        from mlflow_trace_nb.display.static_html import render_static_html
    except ImportError:  # pragma: no cover - shipped with the package
        return None
    try:
        stored = [t if hasattr(t, "info") else t.to_trace() for t in traces]
        return render_static_html(stored, more=more)
    except Exception:
        report_internal_error("static HTML view")
        return None


def make_widget(traces: Sequence[AnyTrace], *, more: int = 0) -> TraceWidget | None:
    """A ``TraceWidget`` for ``traces``, or None without anywidget."""
    try:
        from mlflow_trace_nb.display.widget import TraceWidget
    except ImportError:
        return None
    return TraceWidget(traces, more=more)


def widget_view(widget: Any) -> dict[str, Any]:
    """The widget-view MIME entry that points the front end at ``widget``'s model."""
    return {"version_major": 2, "version_minor": 1, "model_id": widget.model_id}


def trace_bundle(
    traces: Sequence[AnyTrace], *, more: int = 0, widget: Any = None
) -> dict[str, Any]:
    """The MIME bundle showing ``traces`` (``more``: further traces, only counted).

    ``widget`` reuses an existing ``TraceWidget`` (live views); otherwise one is made.

    Example::

        from IPython.display import display
        display(trace_bundle([trace]), raw=True)
    """
    bundle: dict[str, Any] = {"text/plain": plain_text(traces, more=more)}
    html = static_html(traces, more=more)
    if html is not None:
        bundle["text/html"] = html
    try:
        if widget is None:
            widget = make_widget(traces, more=more)
        if widget is not None:
            bundle[WIDGET_MIME] = widget_view(widget)
    except Exception:
        report_internal_error("trace widget")
    return bundle


def _as_traces(obj: Any) -> list[Trace]:
    from mlflow_trace_nb.entities import Trace

    if isinstance(obj, Trace):
        return [obj]
    columns = getattr(obj, "columns", None)
    if columns is not None:  # a search_traces DataFrame
        if "trace" in columns:
            return [t for t in obj["trace"].tolist() if isinstance(t, Trace)]
        if "request_id" in columns:
            from mlflow_trace_nb.search import get_trace

            found = (get_trace(str(r)) for r in obj["request_id"].tolist())
            return [t for t in found if t is not None]
    if isinstance(obj, (list, tuple)):
        return [t for t in obj if isinstance(t, Trace)]
    raise TypeError(f"show_traces expects a Trace, a list of traces or a DataFrame, not {obj!r}")


def show_traces(obj: Any, *, limit: int = MAX_TRACES_SHOWN) -> None:
    """Display a ``Trace``, a list of traces or a ``search_traces`` DataFrame as the span-tree
    view (at most ``limit`` traces; the rest are counted).

    Example::

        mlflow.show_traces(mlflow.search_traces(filter_string="status = 'ERROR'"))
    """
    from IPython.display import display

    traces = _as_traces(obj)
    shown, more = traces[:limit], max(0, len(traces) - limit)
    display(trace_bundle(shown, more=more), raw=True)  # type: ignore[no-untyped-call]
