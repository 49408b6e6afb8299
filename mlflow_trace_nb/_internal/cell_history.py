"""The earlier runs of a notebook cell, found through the cell tags of its traces.

Every trace made in a cell carries ``mlflow.notebook.cell_id`` (the same across runs of that
cell), ``mlflow.notebook.cell_run`` and ``mlflow.notebook.execution_count`` (which tell runs
apart; see ``display/cell_tags.py``). ``previous_run(trace)`` looks, in the store, for the
newest run of the same cell that started before ``trace``, and in it for the trace that
matches ``trace``: the same name at the same position among same-named traces of the run
(so a cell making ``plan`` then ``answer`` compares ``answer`` with ``answer``).

The search is one query pushed down to the store (cell id tag and start time), newest first,
bounded by ``MAX_CANDIDATES`` traces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlflow_trace_nb import keys

if TYPE_CHECKING:
    from mlflow_trace_nb.entities import Trace

__all__ = ["MAX_CANDIDATES", "cell_traces", "previous_run", "run_key"]

#: Traces of one cell read to find its previous run.
MAX_CANDIDATES = 500


def run_key(trace: Trace) -> tuple[str | None, str | None]:
    """Which run of its cell a trace belongs to: (cell_run, execution_count) tags."""
    tags = trace.tags or {}
    return tags.get(keys.CELL_RUN), tags.get(keys.EXECUTION_COUNT)


def cell_traces(trace: Trace) -> list[Trace]:
    """Traces of the same cell as ``trace`` that started no later than it, newest first
    (empty when ``trace`` has no cell id tag)."""
    from mlflow_trace_nb._internal.search import flush, search_traces

    cell_id = (trace.tags or {}).get(keys.CELL_ID)
    if not cell_id:
        return []
    flush()  # this process's own recent traces must be searchable
    quoted = str(cell_id).replace("'", "''")
    found = search_traces(
        experiment_ids=[trace.experiment_id],
        filter_string=(
            f"tags.`{keys.CELL_ID}` = '{quoted}' AND timestamp_ms <= {int(trace.timestamp_ms)}"
        ),
        max_results=MAX_CANDIDATES,
        return_type="list",
    )
    return list(found)  # type: ignore[arg-type]


def _ordinal(trace: Trace, run: list[Trace]) -> int:
    """How many same-named traces of ``run`` (oldest first) come before ``trace``."""
    count = 0
    for other in run:
        if other.request_id == trace.request_id:
            return count
        if other.name == trace.name:
            count += 1
    return count


def previous_run(trace: Trace) -> Trace | None:
    """The matching trace of the previous run of ``trace``'s cell, or None.

    Example::

        earlier = previous_run(mlflow.get_last_active_trace())
    """
    candidates = cell_traces(trace)
    own = run_key(trace)
    earlier_key = next((run_key(t) for t in candidates if run_key(t) != own), None)
    if earlier_key is None:
        return None
    own_run = [t for t in reversed(candidates) if run_key(t) == own]
    if not any(t.request_id == trace.request_id for t in own_run):
        own_run.append(trace)
    earlier = [t for t in reversed(candidates) if run_key(t) == earlier_key]
    same_name = [t for t in earlier if t.name == trace.name]
    if not same_name:
        return earlier[0]
    position = _ordinal(trace, own_run)
    return same_name[min(position, len(same_name) - 1)]
