"""The traces a cell view did not keep, loaded a page at a time ("Show N more")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.display import MAX_TRACES_PER_CELL, cell_tags
from mlflow_trace_nb.display.bundle import WIDGET_MIME
from mlflow_trace_nb.display.more_traces import _quoted, next_page

pytest.importorskip("anywidget")
pytestmark = pytest.mark.filterwarnings("ignore:Widget.widgets is deprecated")
from ipywidgets import Widget  # noqa: E402


@pytest.fixture
def shell(capturing_shell: Any) -> Iterator[Any]:
    assert cell_tags.register_cell_tags()  # as importing inside a kernel does
    yield capturing_shell
    cell_tags.unregister_cell_tags()
    mlflow.disable_notebook_display()


def _cell_widget(shell: Any, code: str) -> Any:
    shell.display_pub.outputs.clear()
    shell.run_cell(code)
    (output,) = shell.display_pub.outputs
    return Widget.widgets[output["data"][WIDGET_MIME]["model_id"]]


def _names(widget: Any) -> list[str]:
    return [t["name"] for t in json.loads(widget.payload)["traces"]]


def test_show_more_pages_through_the_cells_other_traces(shell: Any) -> None:
    mlflow.enable_notebook_display()
    shell.run_cell("@mlflow.trace(name='earlier')\ndef e():\n    return 0\n\ne()")
    count = MAX_TRACES_PER_CELL + 57
    code = f"for i in range({count}):\n    mlflow.trace(name=f'call{{i}}')(len)('ab')"
    widget = _cell_widget(shell, code)
    assert json.loads(widget.payload)["more"] == 57
    replies: list[dict[str, Any]] = []
    widget.send = replies.append  # the reply a front end would get
    widget._on_message(widget, {"kind": "more", "seq": 1}, [])
    assert replies[-1] == {"kind": "more", "seq": 1, "added": 50}
    payload = json.loads(widget.payload)
    assert payload["more"] == 7
    names = _names(widget)
    assert names == [f"call{i}" for i in range(MAX_TRACES_PER_CELL + 50)]  # in order, no dup
    widget._on_message(widget, {"kind": "more", "seq": 2}, [])
    assert replies[-1]["added"] == 7 and json.loads(widget.payload)["more"] == 0
    assert "earlier" not in _names(widget)  # another cell's trace never joins
    widget._on_message(widget, {"kind": "more", "seq": 3}, [])
    assert replies[-1]["added"] == 0


def test_loaded_traces_survive_a_redraw(shell: Any) -> None:
    mlflow.enable_notebook_display()
    code = f"for i in range({MAX_TRACES_PER_CELL + 3}):\n    mlflow.trace(len)('ab')"
    widget = _cell_widget(shell, code)
    assert widget.show_more() == 3
    shown = widget.traces[:MAX_TRACES_PER_CELL]
    widget.set_traces(shown, 3)  # what the live view does on its next refresh
    assert len(widget.traces) == MAX_TRACES_PER_CELL + 3
    assert json.loads(widget.payload)["more"] == 0


def test_traces_of_several_cells_have_no_next_page(shell: Any) -> None:
    mlflow.enable_notebook_display()
    shell.run_cell("mlflow.trace(len)('a')")
    shell.run_cell("mlflow.trace(len)('b')")
    traces = mlflow.search_traces(return_type="list")
    assert len(traces) == 2
    assert next_page(traces) == []
    assert next_page([]) == []


def test_a_hostile_tag_value_stays_inside_its_literal() -> None:
    assert _quoted("x' OR '1'='1") == "x'' OR ''1''=''1"
    assert _quoted("a\\") == "a\\\\"


def _ask(widget: Any, message: dict[str, Any]) -> dict[str, Any]:
    replies: list[dict[str, Any]] = []
    widget.send = replies.append
    widget._on_message(widget, message, [])
    (reply,) = replies
    return reply


def test_the_view_compares_a_trace_with_the_previous_run_of_its_cell(shell: Any) -> None:
    mlflow.enable_notebook_display()
    shell.run_cell(
        "@mlflow.trace\ndef agent(q):\n    return helper(q) + '!'\n\n"
        "@mlflow.trace\ndef helper(q):\n    return q.upper()"
    )
    shell.display_pub.outputs.clear()
    shell.run_cell("agent('first')", store_history=True, cell_id="cell-a")
    shell.display_pub.outputs.clear()
    shell.run_cell("agent('second')", store_history=True, cell_id="cell-a")
    (output,) = shell.display_pub.outputs
    widget = Widget.widgets[output["data"][WIDGET_MIME]["model_id"]]
    (shown,) = json.loads(widget.payload)["traces"]
    reply = _ask(widget, {"kind": "compare", "id": shown["id"], "seq": 4})
    assert reply["seq"] == 4
    result = reply["result"]
    assert [s["path"] for s in result["spans"]] == ["agent[0]", "agent[0]/helper[0]"]
    assert all(s["outputs_changed"] for s in result["spans"])
    assert "SECOND" in result["spans"][1]["outputs_diff"]


def test_compare_answers_with_a_reason_not_an_exception(shell: Any) -> None:
    mlflow.enable_notebook_display()
    widget = _cell_widget(shell, "mlflow.trace(len)('ab')")
    (shown,) = json.loads(widget.payload)["traces"]
    reply = _ask(widget, {"kind": "compare", "id": shown["id"]})
    assert "no earlier run" in reply["reason"]
    other = _ask(widget, {"kind": "compare", "id": "tr-0000"})  # not in this view
    assert other["reason"] == "This trace is not in the view."


def test_a_trace_larger_than_memory_keeps_is_shown_whole(
    shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow_trace_nb._internal.tracer import live_span

    monkeypatch.setattr(live_span, "LIVE_SPANS_KEPT", 5)  # live traces keep their first 5
    mlflow.enable_notebook_display()
    code = "with mlflow.start_span('big'):\n    for i in range(19):\n"
    code += "        mlflow.trace(len)('ab')"
    widget = _cell_widget(shell, code)
    (shown,) = json.loads(widget.payload)["traces"]
    assert shown["count"] == 20  # the stored copy, not the 5 spans kept in memory
    assert len(shown["cols"]["name"]) == 20
    (output,) = [o for o in shell.display_pub.outputs]
    assert output["data"]["text/plain"] == "Trace 'big': OK, 20 spans"
