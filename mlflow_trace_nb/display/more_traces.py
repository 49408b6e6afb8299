"""The traces of a cell beyond the ones its view shows, a page at a time, from the store.

A cell view keeps at most ``MAX_TRACES_PER_CELL`` traces in memory and only counts the rest
(20,000 traced calls must not cost 20,000 traces of memory). When the user asks for them
("Show N more" in the view, with the kernel running), they are read back from the store:
the traces tagged with the same ``mlflow.notebook.cell_run`` as the shown ones, started no
earlier than the first shown one, oldest first. The run counter is per kernel process, so the
time bound keeps an earlier kernel's cell with the same counter out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlflow_trace_nb import keys

if TYPE_CHECKING:
    from mlflow_trace_nb.entities import Trace

#: Traces added per "show more".
PAGE_SIZE = 50


def _cell_source(shown: Sequence[Any]) -> tuple[str, int] | None:
    """(cell-run tag, earliest start in ms) of the shown traces, or None (not from a cell)."""
    run: str | None = None
    start_ms: int | None = None
    for trace in shown:
        info = getattr(trace, "info", None)
        tags = info.tags if info is not None else getattr(trace, "tags", None)
        value = (tags or {}).get(keys.CELL_RUN)
        if value is None:
            continue
        if run is None:
            run = str(value)
        elif str(value) != run:
            return None  # traces of several cells (show_traces of a search): no one cell
        spans = trace.data.spans if info is not None else list(getattr(trace, "spans", ()))
        starts = [s.start_time_ns for s in spans if s.start_time_ns]
        if starts:
            first = min(starts) // 1_000_000
            start_ms = first if start_ms is None else min(start_ms, first)
    if run is None or start_ms is None:
        return None
    return run, start_ms


def _trace_id(trace: Any) -> str:
    info = getattr(trace, "info", None)
    return str(info.request_id if info is not None else trace.request_id)


def next_page(shown: Sequence[Any], size: int = PAGE_SIZE) -> list[Trace]:
    """Up to ``size`` stored traces of the shown traces' cell that are not shown yet.

    Returns [] when the shown traces are not one cell's (a ``show_traces`` of a search, say).
    """
    from mlflow_trace_nb._internal.search import search_traces

    source = _cell_source(shown)
    if source is None:
        return []
    run, start_ms = source
    seen = {_trace_id(t) for t in shown}
    found = search_traces(
        filter_string=f"tags.`{keys.CELL_RUN}` = '{_quoted(run)}' AND timestamp_ms >= {start_ms}",
        order_by=["timestamp_ms ASC"],
        max_results=len(seen) + size,
        return_type="list",
    )
    assert isinstance(found, list)
    return [t for t in found if _trace_id(t) not in seen][:size]


def _quoted(text: str) -> str:
    """``text`` inside a single-quoted filter literal: backslashes and quotes escaped, so a
    tag value can never end the literal (the filter compiles to parameterised SQL anyway)."""
    return text.replace("\\", "\\\\").replace("'", "''")
