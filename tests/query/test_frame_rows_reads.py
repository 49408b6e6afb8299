"""What ``search_traces``' row path reads and reuses: the tables behind the ``spans`` view
read directly (the same rows as the view), values converted once per distinct column text
(each frame cell still its own object), and the GC left as found."""

from __future__ import annotations

import gc
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.gc_pause import gc_paused
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb.query.frame_rows import _root_row
from mlflow_trace_nb.store.sqlite import _SPAN_RAW_SELECT
from tests.query.test_frame_rows import _make_ordinary, _reference, assert_same_frames


@mlflow.trace
def _child(x: int) -> int:
    mlflow.set_span_attribute("kind", "same")
    return x + 1


@mlflow.trace(name="loop")
def _loop(i: int) -> int:
    mlflow.update_current_trace(tags={"batch": str(i % 2)})
    return _child(i) + _child(i + 1)


def _rows() -> tuple[list[Any], list[Any]]:
    def build(trace_rows: Any, span_rows: Any, assessed: Any, load: Any) -> Any:
        return trace_rows, span_rows

    found: tuple[list[Any], list[Any]] = RUNTIME.store.search_rows(build, experiment_ids=None)
    return found


def test_direct_reads_are_the_spans_view(db_path: Path) -> None:
    """The root rows made from trace rows plus the ``span_rows`` rows are exactly the rows
    of the ``spans`` view, in the view's order within each trace."""
    _make_ordinary()
    with mlflow.start_span("parent"), mlflow.start_span("child") as child:
        child.set_inputs({"a": 1})
    mlflow.flush()
    conn = sqlite3.connect(db_path)
    with conn:  # a child left without its parent, and one more parentless row
        conn.execute("UPDATE span_rows SET parent_id = NULL WHERE name = 'child'")
    trace_rows, span_rows = _rows()
    view = conn.execute(f"SELECT {_SPAN_RAW_SELECT} FROM spans s").fetchall()
    conn.close()
    direct = list(span_rows) + [_root_row(row) for row in trace_rows if row[10] is not None]
    assert len(direct) == len(view) > len(trace_rows)

    def by_trace(rows: list[Any]) -> dict[Any, list[Any]]:
        grouped: dict[Any, list[Any]] = {}
        for row in rows:
            grouped.setdefault(row[0], []).append(row)
        return grouped

    assert by_trace(direct) == by_trace(view)
    assert_same_frames(mlflow.search_traces(), _reference())


def test_repeated_columns_same_frame_own_cells() -> None:
    """Spans with the same attributes and traces with the same tags convert alike, and
    every cell is its own object: changing one changes no other."""
    for i in range(6):
        _loop(i)
    mlflow.flush()
    fast = mlflow.search_traces()
    assert isinstance(fast, pd.DataFrame)
    assert_same_frames(fast, _reference())
    tags = list(fast["tags"])
    assert tags[0] == tags[2] and tags[0] is not tags[2]
    spans = [span for cell in fast["spans"] for span in cell]
    children = [span for span in spans if span["name"] == "_child"]
    assert len(children) == 12
    assert len({id(span["attributes"]) for span in children}) == 12
    tags[0]["changed"] = "yes"
    children[0]["attributes"]["changed"] = "yes"
    assert "changed" not in tags[2] and "changed" not in children[1]["attributes"]
    assert_same_frames(mlflow.search_traces(), _reference())


def test_gc_left_as_found() -> None:
    """``gc_paused`` pauses the GC and re-enables it only if it was enabled; the objects
    made meanwhile stay tracked in the youngest generation."""
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        young = [[] for _ in range(10)]
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert gc.is_tracked(young)
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    _loop(1)
    mlflow.flush()
    assert len(mlflow.search_traces()) == 1 and gc.isenabled()


_SEARCH_LOOP = """
import sys, weakref
import mlflow_trace_nb as mlflow

mlflow.tracing.set_destination("sqlite:///" + sys.argv[1])


@mlflow.trace
def step(x):
    return x


for i in range(20):
    step(i)


class Node:
    pass


watched = []
for round_ in range(40):
    assert len(mlflow.search_traces()) == 20
    held = []
    for _ in range(5000):
        node = Node()
        node.me = node
        held.append(node)
        if round_ < 10:
            watched.append(weakref.ref(node))
    del held, node
print(sum(ref() is None for ref in watched), len(watched))
"""


def test_a_loop_of_searches_leaves_the_gc_collecting_cyclic_garbage(tmp_path: Path) -> None:
    """A notebook loop of ``search_traces`` calls beside code that makes cyclic garbage:
    the GC's own schedule still frees it, with no ``gc.collect()``. Handing a search's new
    objects straight to the oldest generation (``gc.freeze(); gc.unfreeze()``) stopped
    full collections for good: 0 of these 50,000 objects were freed. A fresh interpreter,
    so the GC's counts are the script's own."""
    done = subprocess.run(
        [sys.executable, "-c", _SEARCH_LOOP, str(tmp_path / "t.db")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    dead, watched = map(int, done.stdout.split())
    assert watched == 50_000
    assert dead >= 45_000, f"only {dead} of {watched} cyclic objects were freed"
