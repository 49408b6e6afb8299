"""The MIME bundle that shows traces in a notebook, and ``show_traces``.

A bundle holds four views of the same traces; each front end shows the best one it can:

- ``application/vnd.mlflow-trace-nb.v1+json`` (``TRACE_MIME``): the view's payload, saved in
  the notebook. The JupyterLab 4 / Notebook 7 extension shipped in the wheel
  (``share/jupyter/labextensions/mlflow-trace-nb``, built from ``js/lab/``) ranks it above the
  widget view: it shows the live widget while the kernel that made it holds the widget model,
  and otherwise (a reopened notebook, a fresh kernel, no kernel) the interactive view drawn
  from this saved data. Bounded: details are inlined for the first spans only.
- ``application/vnd.jupyter.widget-view+json``: the anywidget span tree (``TraceWidget``), for
  front ends without the extension that run widgets (VS Code, Colab). Left out under batch
  runners (nbconvert/nbclient, papermill, nbval: the kernel's request allows no stdin): they
  draw no widget, and nbconvert's HTML would pick the widget view (blank offline) over the
  ``text/html`` beside it.
- ``text/html``: a static, script-free, size-capped tree (``static_html``) that GitHub,
  nbviewer and nbconvert show;
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

__all__ = [
    "MAX_TRACES_SHOWN",
    "SAVED_PAYLOAD_CHARS",
    "TRACE_MIME",
    "WIDGET_MIME",
    "plain_text",
    "saved_payload",
    "show_traces",
    "static_html",
    "trace_bundle",
]

#: ``show_traces`` shows at most this many traces; the rest are counted.
MAX_TRACES_SHOWN = 20
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
TRACE_MIME = "application/vnd.mlflow-trace-nb.v1+json"
#: Characters of saved payload per output; past it the inlined details are dropped.
SAVED_PAYLOAD_CHARS = 2_000_000


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
    """The script-free HTML fallback (stored or live traces, read directly)."""
    try:
        from mlflow_trace_nb.display.static_html import render_static_html
    except ImportError:  # pragma: no cover - shipped with the package
        return None
    try:
        return render_static_html(list(traces), more=more)
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


def batch_run() -> bool:
    """True when the running cell was sent by a front end that takes no input (nbclient,
    hence ``jupyter nbconvert --execute``, papermill, nbval): no widget is drawn there."""
    try:
        from IPython.core import getipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    get_shell: Any = getipython.get_ipython  # typed or not, depending on the IPython version
    kernel = getattr(get_shell(), "kernel", None)
    return getattr(kernel, "_allow_stdin", None) is False


def saved_payload(traces: Sequence[AnyTrace], *, more: int = 0, widget: Any = None) -> Any:
    """The payload saved in the notebook under ``TRACE_MIME`` (the widget's own when given),
    without inlined details when it would exceed ``SAVED_PAYLOAD_CHARS``."""
    import json

    from mlflow_trace_nb.display.payload import build_payload

    payload = getattr(widget, "payload_data", None) or build_payload(traces, more=more)
    text = getattr(widget, "payload", None) if widget is not None else None
    size = len(text) if isinstance(text, str) else len(json.dumps(payload, default=str))
    if size > SAVED_PAYLOAD_CHARS:
        payload = build_payload(traces, more=more, inline=False)
    return payload


def widget_view(widget: Any) -> dict[str, Any]:
    """The widget-view MIME entry that points the front end at ``widget``'s model."""
    return {"version_major": 2, "version_minor": 1, "model_id": widget.model_id}


def trace_bundle(
    traces: Sequence[AnyTrace], *, more: int = 0, widget: Any = None, html: str | bool = True
) -> dict[str, Any]:
    """The MIME bundle showing ``traces`` (``more``: further traces, only counted).

    ``widget`` reuses an existing ``TraceWidget`` (live views); otherwise one is made.
    ``html``: True builds the static HTML view, a string is used as it is (built once per
    output by the caller), False leaves it out.

    Example::

        from IPython.display import display
        display(trace_bundle([trace]), raw=True)
    """
    bundle: dict[str, Any] = {"text/plain": plain_text(traces, more=more)}
    text = static_html(traces, more=more) if html is True else html or None
    if text is not None:
        bundle["text/html"] = text
    batch = batch_run()
    try:
        if widget is None and not batch:
            widget = make_widget(traces, more=more)
        if widget is not None and not batch:
            bundle[WIDGET_MIME] = widget_view(widget)
    except Exception:
        report_internal_error("trace widget")
    try:
        bundle[TRACE_MIME] = saved_payload(traces, more=more, widget=widget)
    except Exception:
        report_internal_error("saved trace view")
    return bundle


def _as_traces(obj: Any) -> list[Trace]:
    from mlflow_trace_nb.entities import Trace

    if isinstance(obj, Trace):
        return [obj]
    columns = getattr(obj, "columns", None)
    if columns is not None:  # a search_traces DataFrame
        if "trace" in columns:  # MLflow 3's column: the trace as JSON text
            values = obj["trace"].tolist()
            return [t if isinstance(t, Trace) else Trace.from_json(str(t)) for t in values]
        id_column = "trace_id" if "trace_id" in columns else "request_id"
        if id_column in columns:
            from mlflow_trace_nb._internal.search import get_trace

            found = (get_trace(str(r)) for r in obj[id_column].tolist())
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


def _register_hook() -> None:
    # ``Trace._repr_mimebundle_`` calls this (entities import nothing above them)
    from mlflow_trace_nb.entities import trace as trace_entity

    trace_entity.MIMEBUNDLE_HOOKS[:] = [trace_bundle]


_register_hook()
