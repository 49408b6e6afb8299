"""Showing traces under the notebook cell that made them.

This release shows a plain-text summary of each trace a cell completed (one output per
cell); the interactive span-tree widget replaces it in a later release. Outside IPython,
``enable_notebook_display()`` does nothing.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from mlflow_trace_nb.runtime import RUNTIME

if TYPE_CHECKING:
    from mlflow_trace_nb.live_span import LiveTrace

__all__ = ["disable_notebook_display", "enable_notebook_display"]

#: At most this many traces are listed per cell; the rest are counted.
MAX_TRACES_PER_CELL = 10


class _CellDisplay:
    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self._lock = threading.Lock()
        self._finished: list[LiveTrace] = []

    def on_trace_end(self, trace: LiveTrace) -> None:
        with self._lock:
            self._finished.append(trace)

    def pre_run_cell(self, *args: Any) -> None:
        with self._lock:
            self._finished = []

    def post_run_cell(self, *args: Any) -> None:
        with self._lock:
            finished, self._finished = self._finished, []
        if not finished:
            return
        from IPython.display import display

        lines = [
            f"{t.request_id}  {t.root.name if t.root else '?'}  "
            f"{t.root.status_code if t.root else '?'}  {len(t.spans)} span(s)"
            for t in finished[:MAX_TRACES_PER_CELL]
        ]
        if len(finished) > MAX_TRACES_PER_CELL:
            lines.append(f"... and {len(finished) - MAX_TRACES_PER_CELL} more traces")
        display({"text/plain": "\n".join(lines)}, raw=True)  # type: ignore[no-untyped-call]


_active: _CellDisplay | None = None


def enable_notebook_display() -> None:
    """Show the traces each cell completes under that cell (idempotent; no-op outside
    IPython)."""
    global _active
    try:
        from IPython.core.getipython import get_ipython
    except ImportError:
        return
    shell = get_ipython()  # type: ignore[no-untyped-call]
    if shell is None or _active is not None:
        return
    _active = _CellDisplay(shell)
    RUNTIME.trace_end_hooks.append(_active.on_trace_end)
    shell.events.register("pre_run_cell", _active.pre_run_cell)
    shell.events.register("post_run_cell", _active.post_run_cell)


def disable_notebook_display() -> None:
    """Stop showing traces under cells."""
    global _active
    if _active is None:
        return
    display, _active = _active, None
    if display.on_trace_end in RUNTIME.trace_end_hooks:
        RUNTIME.trace_end_hooks.remove(display.on_trace_end)
    for event, callback in (
        ("pre_run_cell", display.pre_run_cell),
        ("post_run_cell", display.post_run_cell),
    ):
        with contextlib.suppress(ValueError):
            display.shell.events.unregister(event, callback)
