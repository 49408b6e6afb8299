"""Traces made in an IPython cell carry that cell's execution count and id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

import mlflow_trace_nb as mlflow
from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb.display import cell_tags


@pytest.fixture
def shell() -> Iterator[Any]:
    ipython = InteractiveShell.instance()
    ipython.run_cell("import mlflow_trace_nb as mlflow")
    assert cell_tags.register_cell_tags()
    yield ipython
    cell_tags.unregister_cell_tags()
    InteractiveShell.clear_instance()


def run(shell: Any, source: str, cell_id: str | None = None) -> Any:
    result = shell.run_cell(source, store_history=True, cell_id=cell_id)
    assert result.success, result.error_in_exec
    return result


def test_traces_are_tagged_with_their_cell(shell: Any) -> None:
    count = shell.execution_count
    run(shell, "@mlflow.trace\ndef f(x):\n    return x\n\nf(1)\nf(2)", cell_id="cell-a")
    run(shell, "f(3)", cell_id="cell-b")
    mlflow.flush()
    df = mlflow.search_traces(filter_string=f"tags.`{keys.CELL_ID}` = 'cell-a'")
    assert len(df) == 2
    assert {tags[keys.EXECUTION_COUNT] for tags in df["tags"]} == {str(count)}
    (other,) = mlflow.search_traces(
        filter_string=f"tags.`{keys.CELL_ID}` = 'cell-b'", return_type="list"
    )
    assert other.tags[keys.EXECUTION_COUNT] == str(count + 1)
    assert other.tags[keys.CELL_ID] == "cell-b"
    assert int(other.tags[keys.CELL_RUN]) == int(df["tags"][0][keys.CELL_RUN]) + 1


def test_two_runs_of_one_cell_share_the_id(shell: Any) -> None:
    source = "with mlflow.start_span('step'):\n    pass"
    first, second = run(shell, source, "same"), run(shell, source, "same")
    mlflow.flush()
    df = mlflow.search_traces(filter_string=f"tags.`{keys.CELL_ID}` = 'same'")
    counts = sorted(int(tags[keys.EXECUTION_COUNT]) for tags in df["tags"])
    assert counts == [first.execution_count, second.execution_count]
    assert counts[0] < counts[1]


def test_cells_run_without_history_are_told_apart_by_cell_run(shell: Any) -> None:
    for _ in range(2):  # how nbval runs cells: the execution count does not move
        assert shell.run_cell("mlflow.trace(len)('ab')", store_history=False).success
    mlflow.flush()
    newer, older = mlflow.search_traces(return_type="list")
    assert keys.EXECUTION_COUNT not in newer.tags and keys.EXECUTION_COUNT not in older.tags
    assert int(newer.tags[keys.CELL_RUN]) == int(older.tags[keys.CELL_RUN]) + 1
    (one,) = mlflow.search_traces(
        filter_string=f"tags.`{keys.CELL_RUN}` = '{older.tags[keys.CELL_RUN]}'", return_type="list"
    )
    assert one.request_id == older.request_id


def test_user_tags_are_kept_and_no_cell_id_outside_notebooks(shell: Any) -> None:
    run(shell, "with mlflow.start_span('s'):\n    mlflow.update_current_trace(tags={'k': 'v'})")
    mlflow.flush()
    (trace,) = mlflow.search_traces(return_type="list")
    assert trace.tags["k"] == "v"
    assert keys.EXECUTION_COUNT in trace.tags
    assert keys.CELL_ID not in trace.tags  # a terminal IPython sends no cell id


def test_unregistered_adds_no_tags(shell: Any) -> None:
    cell_tags.unregister_cell_tags()
    with mlflow.start_span("outside"):
        pass
    mlflow.flush()
    (trace,) = mlflow.search_traces(return_type="list")
    assert trace.tags == {"mlflow.traceName": "outside"}  # MLflow's tag; no cell tags
    assert cell_tags._tag_trace not in RUNTIME.trace_start_hooks


def test_registering_twice_hooks_once(shell: Any) -> None:
    assert cell_tags.register_cell_tags()
    assert RUNTIME.trace_start_hooks.count(cell_tags._tag_trace) == 1
    run(shell, "mlflow.trace(len)('ab')", "x")
    run(shell, "x = 1", "y")  # a cell without traces changes the current tags only
    assert cell_tags.current_cell_tags()[keys.CELL_ID] == "y"


def test_package_import_inside_ipython_registers(shell: Any) -> None:
    cell_tags.unregister_cell_tags()
    run(shell, "import importlib, mlflow_trace_nb\nimportlib.reload(mlflow_trace_nb)")
    assert cell_tags._tag_trace in RUNTIME.trace_start_hooks
    run(shell, "mlflow_trace_nb.trace(len)('ab')", "after-import")
    mlflow.flush()
    (trace,) = mlflow.search_traces(return_type="list")
    assert trace.tags[keys.CELL_ID] == "after-import"
