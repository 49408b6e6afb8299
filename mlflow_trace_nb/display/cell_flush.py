"""In IPython, write everything pending at the end of every cell (decisions.md, 5).

Registered once, when the package is imported inside an IPython shell, whether or not the
notebook display is on: a trace made in a cell is on disk when the cell finishes. A span the
cell left open is ended first (status ERROR, see ``span_leaks``).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb._internal.tracer.span_leaks import CELL_END_MESSAGE, end_spans_left_open

__all__ = ["register_cell_flush", "running_shell"]

_registered_shells: set[int] = set()


def _flush_after_cell(result: Any = None, *_: Any) -> None:
    with contextlib.suppress(Exception):  # a flush problem must never become a cell error
        # A span the cell left open (a forgotten end()) must not swallow later cells.
        end_spans_left_open(CELL_END_MESSAGE, getattr(result, "error_in_exec", None))
        RUNTIME.flush(timeout=10.0)


def running_shell() -> Any:
    """The running IPython shell, or None (never imports IPython when it is not loaded)."""
    if "IPython" not in sys.modules:
        return None
    try:
        from IPython.core.getipython import get_ipython

        return get_ipython()  # type: ignore[no-untyped-call, unused-ignore]
    except Exception:
        return None


def register_cell_flush() -> bool:
    """Hook ``post_run_cell`` of the running IPython shell (if any); True if hooked now or
    before."""
    try:
        shell = running_shell()
        if shell is None:
            return False
        if id(shell) not in _registered_shells:
            shell.events.register("post_run_cell", _flush_after_cell)
            _registered_shells.add(id(shell))
        return True
    except Exception:
        return False
