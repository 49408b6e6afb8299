"""Tag every trace made in an IPython/Jupyter cell with the cell that made it.

Registered once when the package is imported inside an IPython shell (like
``cell_flush``). Before each cell runs, ``pre_run_cell`` records which cell it is; each new
trace then copies these tags (one dict copy on the trace's first span, nothing per span):

- ``mlflow.notebook.execution_count``: the cell's ``In [N]`` number, as a string (absent for
  cells run without history, e.g. ``silent`` ones).
- ``mlflow.notebook.cell_id``: the notebook cell's id (nbformat 4.5+ ids, sent by
  ipykernel 6+/JupyterLab/Notebook 7; absent in a terminal IPython). The same cell keeps its
  id across runs, so two runs of one cell share ``cell_id`` and differ in
  ``execution_count``.
- ``mlflow.notebook.cell_run``: the number of cells run in this kernel so far, counting
  cells run without history too (nbval, ``run_cell(..., store_history=False)``), so it tells
  cell runs apart where the two tags above cannot.

A trace started after a cell ended (a background thread, say) gets the tags of the last cell
that started. Filter a DataFrame by cell::

    mlflow.search_traces(filter_string="tags.`mlflow.notebook.cell_id` = 'a1b2c3'")
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb.display.cell_flush import running_shell
from mlflow_trace_nb.display.cell_number import learn_offset, running_cell_number

if TYPE_CHECKING:
    from mlflow_trace_nb._internal.tracer.live_span import LiveTrace

__all__ = [
    "current_cell_tags",
    "register_cell_tags",
    "unregister_cell_tags",
]


_current: dict[str, str] = {}  # the tags of the cell running now (replaced, never mutated)
_registered_shells: dict[int, Any] = {}
_runs = 0  # cells started since the hook was registered
_count_at_start: int | None = None  # shell.execution_count when the running cell started


def current_cell_tags() -> dict[str, str]:
    """The tags new traces get now (a copy; empty outside a cell)."""
    return dict(_current)


def _tag_trace(trace: LiveTrace) -> None:
    tags = _current
    if tags:
        if trace.tags is None:
            trace.tags = dict(tags)
        else:
            trace.tags.update(tags)


def _pre_run_cell(info: Any = None) -> None:
    global _current, _runs, _count_at_start
    try:
        _runs += 1
        tags: dict[str, str] = {keys.CELL_RUN: str(_runs)}
        from IPython.core.getipython import get_ipython

        shell = get_ipython()  # type: ignore[no-untyped-call, unused-ignore]
        _count_at_start = None if shell is None else int(shell.execution_count)
        if shell is not None and getattr(info, "store_history", True):
            tags[keys.EXECUTION_COUNT] = str(running_cell_number(shell))
        cell_id = getattr(info, "cell_id", None)
        if cell_id:
            tags[keys.CELL_ID] = str(cell_id)
        _current = tags
    except Exception:
        _current = {}  # never break the user's cell


def _post_run_cell(result: Any = None) -> None:
    with contextlib.suppress(Exception):  # never break the user's cell
        learn_offset(_count_at_start, result)


def register_cell_tags() -> bool:
    """Hook the running IPython shell (if any) so new traces carry their cell's tags; True if
    hooked now or before. Does not import IPython when it is not already loaded."""
    global _current, _runs
    try:
        shell = running_shell()
        if shell is None:
            return False
        if id(shell) not in _registered_shells:
            shell.events.register("pre_run_cell", _pre_run_cell)
            shell.events.register("post_run_cell", _post_run_cell)
            _registered_shells[id(shell)] = shell
            if not _current:  # the cell importing us started before the hook existed
                _runs += 1
                _current = {keys.CELL_RUN: str(_runs)}  # its count may not be stored
        if _tag_trace not in RUNTIME.trace_start_hooks:
            RUNTIME.trace_start_hooks.append(_tag_trace)
        return True
    except Exception:
        return False


def unregister_cell_tags() -> None:
    """Stop tagging traces (undoes every ``register_cell_tags``)."""
    global _current
    while _tag_trace in RUNTIME.trace_start_hooks:
        RUNTIME.trace_start_hooks.remove(_tag_trace)
    for shell in _registered_shells.values():
        with contextlib.suppress(ValueError):
            shell.events.unregister("pre_run_cell", _pre_run_cell)
        with contextlib.suppress(ValueError):
            shell.events.unregister("post_run_cell", _post_run_cell)
    _registered_shells.clear()
    _current = {}
