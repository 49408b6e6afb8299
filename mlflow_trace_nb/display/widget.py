"""The notebook span-tree widget: one anywidget carrying the traces as JSON text.

The front end is built from the ES modules in ``js/`` (``npm ci && npm run build``) into
``mlflow_trace_nb/_static/trace_view.js`` + ``.css``, which the wheel ships. It draws
everything with ``textContent``; span content never becomes markup. Without a build the widget
shows a one-line notice instead of the view. Besides the ``payload`` trait the widget answers
custom messages:

- ``{"kind": "detail", "t": trace, "s": span}`` -> the span's detail (``span_detail``);
- ``{"kind": "value", "t", "s", "field"}`` -> the full JSON text of one value;
- ``{"kind": "search", "q": text, "seq": n}`` -> matching spans per trace, by content;
- ``{"kind": "more", "seq": n}`` -> the next page of the cell's traces the view did not keep
  (read from the store, ``more_traces``), added to the payload; the reply says how many;
- ``{"kind": "compare", "id": trace_id, "seq": n}`` -> ``compare_traces`` of that shown trace
  with the earlier run of its cell (``result``: ``TraceComparison.to_dict()``, capped), or a
  ``reason`` when there is none.

Importing this module imports anywidget (an optional dependency).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from mlflow_trace_nb.display.payload import (
    build_payload,
    full_value,
    search_spans,
    span_detail,
)
from mlflow_trace_nb.errors import report_internal_error

if TYPE_CHECKING:
    from mlflow_trace_nb.display.payload import AnyTrace

__all__ = ["TraceWidget", "asset_path"]

#: Span paths of a comparison sent to the view (the DataFrame of ``compare_traces`` has all).
MAX_COMPARE_PATHS = 1000

STATIC_DIR = Path(__file__).resolve().parent.parent / "_static"
_NOT_BUILT_ESM = """export default { render({ el }) {
  const p = document.createElement("pre");
  p.textContent = "mlflow-trace-nb: front end not built (npm ci && npm run build).";
  el.append(p);
} };
"""


def asset_path(name: str) -> Path:
    """Where a built front-end file is (``mlflow_trace_nb/_static/``, wheel or editable)."""
    path = STATIC_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"mlflow_trace_nb front end {name!r} not built: npm run build")
    return path


def _asset(name: str, fallback: str) -> Path | str:
    try:
        return asset_path(name)
    except FileNotFoundError:
        return fallback


class TraceWidget(anywidget.AnyWidget):
    """A collapsible span tree with waterfall, detail pane, chat view and search."""

    _esm = _asset("trace_view.js", _NOT_BUILT_ESM)
    _css = _asset("trace_view.css", "")
    payload = traitlets.Unicode("{}").tag(sync=True)

    def __init__(self, traces: Sequence[AnyTrace] = (), *, more: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._traces: list[AnyTrace] = list(traces)
        self._more = more
        self._loaded: list[AnyTrace] = []  # traces added by "show more", kept on updates
        self.payload_data: dict[str, Any] = {}
        self._detail_caches: list[dict[int, Any]] = [{} for _ in self._traces]
        self._search_caches: list[dict[int, str]] = [{} for _ in self._traces]
        self.on_msg(self._on_message)
        self.refresh()

    @property
    def traces(self) -> list[AnyTrace]:
        """The traces shown (stored or live)."""
        return list(self._traces)

    def set_traces(self, traces: Sequence[AnyTrace], more: int = 0) -> None:
        """Show ``traces`` instead (caches kept for traces already shown)."""
        with self._lock:
            old = {id(t): i for i, t in enumerate(self._traces)}
            details, searches = [], []
            for trace in traces:
                position = old.get(id(trace))
                details.append(self._detail_caches[position] if position is not None else {})
                searches.append(self._search_caches[position] if position is not None else {})
            shown = {id(t) for t in traces}
            loaded = [t for t in self._loaded if id(t) not in shown]
            self._traces = [*traces, *loaded]
            self._more = max(0, more - len(loaded))
            for _ in loaded:
                details.append({})
                searches.append({})
            self._detail_caches, self._search_caches = details, searches
        self.refresh()

    def show_more(self) -> int:
        """Add the next page of the cell's traces not shown (from the store); how many."""
        from mlflow_trace_nb.display.more_traces import next_page

        with self._lock:
            shown, more = list(self._traces), self._more
        if more <= 0:
            return 0
        page = next_page(shown)
        if not page:
            return 0
        with self._lock:
            self._loaded.extend(page)
            self._traces.extend(page)
            self._more = max(0, self._more - len(page))
            self._detail_caches.extend({} for _ in page)
            self._search_caches.extend({} for _ in page)
        self.refresh()
        return len(page)

    def refresh(self) -> None:
        """Rebuild the payload from the traces (call from any thread)."""
        with self._lock:
            payload = build_payload(self._traces, more=self._more, caches=self._detail_caches)
        self.payload_data = payload
        self.payload = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))

    def _compare(self, trace_id: str) -> dict[str, Any]:
        """The comparison of shown trace ``trace_id`` with the earlier run of its cell."""
        from mlflow_trace_nb._internal.compare import compare_traces
        from mlflow_trace_nb.display.payload import trace_request_id

        with self._lock:
            shown = {trace_request_id(t) for t in self._traces}
        if trace_id not in shown:  # only what this view shows: never an arbitrary lookup
            return {"reason": "This trace is not in the view."}
        try:
            result = compare_traces(trace_id).to_dict()
        except (ValueError, LookupError) as error:
            return {"reason": str(error)[:500]}
        result["spans"] = result["spans"][:MAX_COMPARE_PATHS]
        return {"result": result}

    def __repr__(self) -> str:
        return f"TraceWidget({len(self._traces)} trace(s))"

    # Messages from the front end ---------------------------------------------------------
    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        try:
            reply = self._answer(content)
        except Exception:
            report_internal_error("trace widget message")
            reply = {
                "kind": "error",
                "seq": content.get("seq") if isinstance(content, dict) else None,
            }
        if reply is not None:
            self.send(reply)

    def _answer(self, content: Any) -> dict[str, Any] | None:
        if not isinstance(content, dict):
            return None
        kind = content.get("kind")
        seq = content.get("seq")
        if kind == "search":
            query = str(content.get("q", ""))[:500]
            hits = {
                str(i): search_spans(trace, query, self._search_caches[i])
                for i, trace in enumerate(self._traces)
            }
            return {"kind": "search", "seq": seq, "q": query, "hits": hits}
        if kind == "more":
            return {"kind": "more", "seq": seq, "added": self.show_more()}
        if kind == "compare":
            return {"kind": "compare", "seq": seq, **self._compare(str(content.get("id", "")))}
        t, s = int(content.get("t", -1)), int(content.get("s", -1))
        if not 0 <= t < len(self._traces):
            return {"kind": "error", "seq": seq}
        trace = self._traces[t]
        if kind == "detail":
            cache = self._detail_caches[t]
            detail = cache.get(s)
            if detail is None:
                detail = span_detail(trace, s)
            return {"kind": "detail", "seq": seq, "t": t, "s": s, "detail": detail}
        if kind == "value":
            field = str(content.get("field", ""))
            text = full_value(trace, s, field)
            return {"kind": "value", "seq": seq, "t": t, "s": s, "field": field, "text": text}
        return None
