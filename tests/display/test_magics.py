"""``%%trace`` and ``%traces`` on a real IPython InteractiveShell."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb import keys
from mlflow_trace_nb.display import cell_tags
from mlflow_trace_nb.entities import Trace


@pytest.fixture
def shell(capturing_shell: Any) -> Iterator[Any]:
    assert capturing_shell.run_cell("%load_ext mlflow_trace_nb").success
    yield capturing_shell
    capturing_shell.run_cell("%unload_ext mlflow_trace_nb")
    cell_tags.unregister_cell_tags()


def run(shell: Any, source: str, cell_id: str | None = None) -> Any:
    return shell.run_cell(source, store_history=True, cell_id=cell_id)


def traces() -> list[Trace]:
    mlflow.flush()
    return list(mlflow.search_traces(return_type="list"))


def test_cell_becomes_one_root_span(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    count = shell.execution_count
    source = "%%trace\n@mlflow.trace\ndef f(x):\n    return x * 2\n\nprint('hello')\nf(21)"
    result = run(shell, source, cell_id="c1")
    assert result.success and result.result == 42
    assert "hello" in capsys.readouterr().out  # the cell still prints
    (trace,) = traces()
    root, child = trace.spans
    assert root.name == f"cell [{count}]" and root.parent_id is None
    assert root.span_type == "UNKNOWN" and root.status_code == "OK"
    assert root.inputs == {"cell": source.split("\n", 1)[1] + "\n"}
    assert root.outputs == {"result": 42, "stdout": "hello\n"}
    assert child.name == "f" and child.parent_id == root.span_id
    assert trace.tags[keys.CELL_ID] == "c1" and trace.tags[keys.EXECUTION_COUNT] == str(count)
    assert shell.user_ns["f"](1) == 2  # definitions land in the user namespace


def test_name_and_type_arguments(shell: Any) -> None:
    assert run(shell, "%%trace retrieval step --type RETRIEVER\ndocs = ['a']").success
    assert run(shell, "%%trace -t=CHAIN\nx = 1").success
    newer, older = traces()
    assert (older.name, older.spans[0].span_type) == ("retrieval step", "RETRIEVER")
    assert older.spans[0].outputs == {"result": None, "stdout": ""}
    assert newer.spans[0].span_type == "CHAIN"
    assert run(shell, "%%trace --bogus\nx = 1").error_in_exec is not None  # a usage error
    assert shell.user_ns["docs"] == ["a"]


def test_exception_marks_error_and_propagates(shell: Any) -> None:
    result = run(shell, "%%trace boom\nprint('before')\nraise ValueError('bad input')")
    assert isinstance(result.error_in_exec, ValueError)
    assert str(result.error_in_exec) == "bad input"
    (trace,) = traces()
    assert trace.status == "ERROR"
    root = trace.spans[0]
    assert root.outputs == {"stdout": "before\n"}
    (event,) = [e for e in root.events if e.name == "exception"]
    assert event.attributes["exception.message"] == "bad input"
    assert run(shell, "1 + 1").result == 2  # the shell is fine afterwards


def test_ipython_syntax_inside_the_cell(shell: Any) -> None:
    result = run(shell, "%%trace\nvalue = %time 6 * 7\nvalue")
    assert result.success and result.result == 42


def test_traces_line_magic_shows_the_latest(shell: Any) -> None:
    for i in range(7):
        run(shell, f"%%trace run-{i}\n{i}")
    shell.display_pub.outputs.clear()
    assert run(shell, "%traces 3").success
    html = "".join(o["data"].get("text/html", "") for o in shell.display_pub.outputs)
    assert "run-6" in html and "run-4" in html and "run-3" not in html
    shell.display_pub.outputs.clear()
    assert run(shell, "%traces").success  # default: the last five
    html = "".join(o["data"].get("text/html", "") for o in shell.display_pub.outputs)
    assert "run-2" in html and "run-1" not in html
    shell.display_pub.outputs.clear()
    assert run(shell, "%traces 10 --filter \"name = 'run-0'\"").success
    html = "".join(o["data"].get("text/html", "") for o in shell.display_pub.outputs)
    assert "run-0" in html and "run-1" not in html
    assert run(shell, "%traces -1").error_in_exec is not None


def test_unload_removes_the_magics(shell: Any) -> None:
    assert run(shell, "%unload_ext mlflow_trace_nb").success
    assert run(shell, "%%trace\n1").error_in_exec is not None
    assert run(shell, "%load_ext mlflow_trace_nb").success
    assert run(shell, "%%trace\n1").success
