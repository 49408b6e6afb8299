"""Per-cell display on a real IPython InteractiveShell."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.displaypub import CapturingDisplayPublisher
from IPython.core.interactiveshell import InteractiveShell

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.display import MAX_TRACES_PER_CELL
from mlflow_trace_nb.processing import WriteBehindQueue
from mlflow_trace_nb.runtime import RUNTIME


@pytest.fixture
def shell() -> Iterator[Any]:
    ipython = InteractiveShell.instance()
    publisher = CapturingDisplayPublisher()
    original = ipython.display_pub
    ipython.display_pub = publisher
    ipython.run_cell("import mlflow_trace_nb as mlflow")
    yield ipython
    mlflow.disable_notebook_display()
    ipython.display_pub = original
    InteractiveShell.clear_instance()


def outputs(shell: Any) -> list[str]:
    texts = [output["data"]["text/plain"] for output in shell.display_pub.outputs]
    shell.display_pub.outputs.clear()
    return texts


def test_one_output_per_cell_listing_its_traces(shell: Any) -> None:
    mlflow.enable_notebook_display()
    mlflow.enable_notebook_display()  # twice registers once
    shell.run_cell("@mlflow.trace\ndef f(x):\n    return x\n\nf(1)\nf(2)")
    (text,) = outputs(shell)
    assert text.count("f  OK  1 span(s)") == 2
    shell.run_cell("x = 1")  # a cell without traces shows nothing
    assert outputs(shell) == []


def test_cap_and_count_beyond_the_limit(shell: Any) -> None:
    mlflow.enable_notebook_display()
    count = MAX_TRACES_PER_CELL + 5
    shell.run_cell(f"for i in range({count}):\n    mlflow.trace(len)('ab')")
    (text,) = outputs(shell)
    assert text.count("len  OK") == MAX_TRACES_PER_CELL
    assert "... and 5 more traces" in text


def test_disable_removes_the_hook(shell: Any) -> None:
    mlflow.enable_notebook_display()
    mlflow.disable_notebook_display()
    assert not RUNTIME.trace_end_hooks
    shell.run_cell("mlflow.trace(len)('abc')")
    assert outputs(shell) == []


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
