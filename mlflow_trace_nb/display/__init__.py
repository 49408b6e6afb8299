"""Showing traces under the notebook cell that made them.

``enable_notebook_display()`` registers IPython hooks: every cell that completes one or more
traces gets exactly one output, the span-tree widget (``display.widget``) with a static HTML
fallback (``display.static_html``) and a plain-text line per trace; at most
``MAX_TRACES_PER_CELL`` traces are drawn and the rest counted. While a long cell runs the
output appears early and shows spans as they end (``display.live``). Outside IPython it does
nothing. A ``Trace`` shown as a cell's value, or ``show_traces(...)``, draws the same view.

The tracer's hooks are lean and O(1) per trace: a trace start appends to a list of at most
``MAX_TRACES_PER_CELL`` traces (later ones are only counted), a span end sets a flag.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb.display.live import MAX_TRACES_PER_CELL, CellView, LiveUpdater

if TYPE_CHECKING:
    from mlflow_trace_nb._internal.tracer.live_span import LiveSpan, LiveTrace

__all__ = ["MAX_TRACES_PER_CELL", "disable_notebook_display", "enable_notebook_display"]


class _CellDisplay:
    """The hooks of one IPython shell."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.updater = LiveUpdater()
        self._lock = threading.Lock()
        self._cell: CellView | None = None

    # Tracer hooks (any thread; keep them cheap) ---------------------------------------
    def on_trace_start(self, trace: LiveTrace) -> None:
        cell = self._cell
        if cell is not None:
            with self._lock:
                cell.started(trace)

    def on_span_end(self, span: LiveSpan) -> None:
        self.updater.dirty = True

    def on_trace_end(self, trace: LiveTrace) -> None:
        cell = self._cell
        if cell is not None:
            with self._lock:
                cell.ended(trace)
        self.updater.dirty = True

    # IPython events (main thread) ------------------------------------------------------
    def pre_run_cell(self, *args: Any) -> None:
        cell = CellView()
        self._cell = cell
        self.updater.watch(cell)

    def post_run_cell(self, *args: Any) -> None:
        cell, self._cell = self._cell, None
        if cell is None:
            return
        try:
            cell.settle()
        except Exception:
            from mlflow_trace_nb.errors import report_internal_error

            report_internal_error("notebook display")

    def hooks(self) -> list[tuple[list[Any], Any]]:
        return [
            (RUNTIME.trace_start_hooks, self.on_trace_start),
            (RUNTIME.span_end_hooks, self.on_span_end),
            (RUNTIME.trace_end_hooks, self.on_trace_end),
        ]


_active: _CellDisplay | None = None


def enable_notebook_display() -> None:
    """Show the traces each cell completes under that cell (idempotent; no-op outside
    IPython).

    Example::

        import mlflow_trace_nb as mlflow
        mlflow.enable_notebook_display()
    """
    global _active
    try:
        from IPython.core.getipython import get_ipython
    except ImportError:
        return
    shell = get_ipython()  # type: ignore[no-untyped-call, unused-ignore]
    if shell is None or _active is not None:
        return
    active = _CellDisplay(shell)
    for hooks, hook in active.hooks():
        hooks.append(hook)
    shell.events.register("pre_run_cell", active.pre_run_cell)
    shell.events.register("post_run_cell", active.post_run_cell)
    active.pre_run_cell()  # the cell calling us (if any) shows its traces too
    _active = active


def disable_notebook_display() -> None:
    """Stop showing traces under cells (removes every hook ``enable_notebook_display`` set)."""
    global _active
    if _active is None:
        return
    active, _active = _active, None
    for hooks, hook in active.hooks():
        while hook in hooks:
            hooks.remove(hook)
    for event, callback in (
        ("pre_run_cell", active.pre_run_cell),
        ("post_run_cell", active.post_run_cell),
    ):
        with contextlib.suppress(ValueError):
            active.shell.events.unregister(event, callback)
    active.updater.stop()
