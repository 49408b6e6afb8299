"""The per-cell display hook on a real IPython InteractiveShell."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.processing import WriteBehindQueue
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb.display import MAX_TRACES_PER_CELL
from mlflow_trace_nb.display.bundle import WIDGET_MIME


@pytest.fixture
def shell(capturing_shell: Any) -> Iterator[Any]:
    yield capturing_shell
    mlflow.disable_notebook_display()


def outputs(shell: Any) -> list[dict[str, Any]]:
    found = list(shell.display_pub.outputs)
    shell.display_pub.outputs.clear()
    return found


def test_one_output_per_cell_listing_its_traces(shell: Any) -> None:
    mlflow.enable_notebook_display()
    mlflow.enable_notebook_display()  # twice registers once
    assert len(shell.events.callbacks["post_run_cell"]) == len(
        set(map(id, shell.events.callbacks["post_run_cell"]))
    )
    shell.run_cell("@mlflow.trace\ndef f(x):\n    return x\n\nf(1)\nf(2)")
    (output,) = outputs(shell)
    data = output["data"]
    assert data["text/plain"] == "Trace 'f': OK, 1 span\nTrace 'f': OK, 1 span"
    assert WIDGET_MIME in data and "model_id" in data[WIDGET_MIME]
    assert "<script" not in data["text/html"]
    shell.run_cell("x = 1")  # a cell without traces shows nothing
    assert outputs(shell) == []


def test_enable_registers_its_hooks_once(shell: Any) -> None:
    before = len(shell.events.callbacks["pre_run_cell"])
    mlflow.enable_notebook_display()
    mlflow.enable_notebook_display()
    assert len(shell.events.callbacks["pre_run_cell"]) == before + 1
    assert len(RUNTIME.span_end_hooks) == 1


def test_cap_and_count_beyond_the_limit(shell: Any) -> None:
    mlflow.enable_notebook_display()
    count = MAX_TRACES_PER_CELL + 5
    shell.run_cell(f"for i in range({count}):\n    mlflow.trace(len)('ab')")
    (output,) = outputs(shell)
    text = output["data"]["text/plain"]
    assert text.count("Trace 'len': OK") == MAX_TRACES_PER_CELL
    assert text.endswith("... and 5 more traces")


def test_the_cell_enabling_the_display_shows_its_traces(shell: Any) -> None:
    shell.run_cell("mlflow.enable_notebook_display()\nmlflow.trace(len)('abc')")
    (output,) = outputs(shell)
    assert output["data"]["text/plain"] == "Trace 'len': OK, 1 span"


def test_a_long_cell_shows_its_trace_while_running_then_settles(shell: Any) -> None:
    mlflow.enable_notebook_display()
    code = """
import time
seen = []

@mlflow.trace
def step(i):
    return i

@mlflow.trace
def job():
    step(0)
    deadline = time.monotonic() + 30
    while not get_ipython().display_pub.outputs and time.monotonic() < deadline:
        time.sleep(0.05)  # wait for the live view to appear (background timer)
    seen.append(len(get_ipython().display_pub.outputs))
    step(1)

job()
"""
    shell.run_cell(code)
    assert shell.user_ns["seen"] == [1]  # shown while the cell was still running
    live, final = outputs(shell)
    assert not live.get("update") and final.get("update")
    assert live["data"]["text/plain"] == "Trace 'job': RUNNING, 2 spans"
    assert final["data"]["text/plain"] == "Trace 'job': OK, 3 spans"
    assert live["data"][WIDGET_MIME] == final["data"][WIDGET_MIME]  # one widget, updated
    assert live["transient"]["display_id"] == final["transient"]["display_id"]


def test_disable_removes_the_hook(shell: Any) -> None:
    mlflow.enable_notebook_display()
    mlflow.disable_notebook_display()
    assert not RUNTIME.trace_end_hooks
    assert not RUNTIME.span_end_hooks
    shell.run_cell("mlflow.trace(len)('abc')")
    assert outputs(shell) == []


def test_a_trace_as_the_cell_value_renders_the_view(shell: Any) -> None:
    shell.run_cell("mlflow.trace(len)('abc')\nt = mlflow.get_last_active_trace()")
    # what IPython's displayhook does with a cell's value
    data, _ = shell.display_formatter.format(shell.user_ns["t"])
    assert data["text/plain"] == "Trace 'len': OK, 1 span"
    assert WIDGET_MIME in data and "text/html" in data


def test_outside_ipython_it_does_nothing() -> None:
    InteractiveShell.clear_instance()
    mlflow.enable_notebook_display()
    assert not RUNTIME.trace_end_hooks
    mlflow.disable_notebook_display()


def test_pending_traces_are_written_when_a_cell_ends(shell: Any, db_path: Any) -> None:
    import sqlite3

    from mlflow_trace_nb.display.cell_flush import register_cell_flush

    assert register_cell_flush()
    RUNTIME.flush()
    original = RUNTIME._queue
    # a writer that would not wake by itself for an hour: only the cell hook can flush
    RUNTIME._queue = WriteBehindQueue(RUNTIME._export, interval_s=3600)
    try:
        shell.run_cell("mlflow.trace(len)('abcd')")
        count = sqlite3.connect(db_path).execute("SELECT count(*) FROM traces").fetchone()[0]
        assert count == 1
    finally:
        RUNTIME._queue.shutdown()
        RUNTIME._queue = original


def test_a_big_cell_keeps_only_the_traces_it_shows(shell: Any) -> None:
    mlflow.enable_notebook_display()
    code = """
import mlflow_trace_nb.display as display
for i in range(3000):
    mlflow.trace(abs)(i)
cell = display._active._cell
kept = (len(cell.traces), cell.extra, cell.completed)
"""
    shell.run_cell(code)
    # O(1) per trace: the cell holds its shown traces only and counts the rest
    assert shell.user_ns["kept"] == (MAX_TRACES_PER_CELL, 3000 - MAX_TRACES_PER_CELL, 3000)
    *live, output = outputs(shell)  # a live output first when the cell took long enough
    assert len(live) <= 1
    assert output["data"]["text/plain"].endswith(
        f"... and {3000 - MAX_TRACES_PER_CELL} more traces"
    )
    assert output["data"]["text/html"].count('class="mtn-trace') == MAX_TRACES_PER_CELL


def test_a_trace_ending_after_its_cell_redraws_the_static_view_once(shell: Any) -> None:
    import threading
    import time

    from mlflow_trace_nb.display.live import _LIVE_HTML

    mlflow.enable_notebook_display()
    release = threading.Event()
    shell.user_ns["release"] = release
    code = """
import threading
started = threading.Event()
def work():
    with mlflow.start_span("background"):
        started.set()
        release.wait(30)
worker = threading.Thread(target=work)
worker.start()
started.wait(30)
mlflow.trace(len)("abc")
"""
    shell.run_cell(code)
    first = outputs(shell)
    settled = first[-1]["data"]
    assert "RUNNING" in settled["text/plain"] and settled["text/html"] != _LIVE_HTML
    release.set()
    shell.user_ns["worker"].join(30)
    deadline = time.monotonic() + 30
    later: list[dict[str, Any]] = []
    while not later and time.monotonic() < deadline:  # the live-view thread redraws it
        time.sleep(0.05)
        later = outputs(shell)
    (final,) = later
    assert final.get("update") and "RUNNING" not in final["data"]["text/plain"]
    assert "background" in final["data"]["text/html"] and "mtn-ok" in final["data"]["text/html"]


def test_shown_traces_keep_their_spans_and_the_rest_are_freed_at_once(shell: Any) -> None:
    """A cell's shown traces keep their live spans for the view; its other ended traces are
    let go by the tracer (no reference cycle left for the GC to find)."""
    import gc

    from mlflow_trace_nb._internal.tracer.live_span import LiveSpan

    mlflow.enable_notebook_display()
    shell.run_cell("@mlflow.trace\ndef f(x):\n    return x\n\nf(0)")
    gc.collect()
    before = sum(type(o) is LiveSpan for o in gc.get_objects())
    gc.disable()
    try:
        shell.run_cell(f"for i in range({MAX_TRACES_PER_CELL + 500}):\n    f(i)")
        after = sum(type(o) is LiveSpan for o in gc.get_objects())
    finally:
        gc.enable()
    assert after - before <= MAX_TRACES_PER_CELL + 2  # the shown ones (and the last)
    (_, output) = outputs(shell)
    text = output["data"]["text/plain"]
    assert text.count("Trace 'f': OK, 1 span") == MAX_TRACES_PER_CELL
