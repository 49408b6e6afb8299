"""compare_traces: span alignment, diffs, deltas, views, and the previous run of a cell."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.displaypub import CapturingDisplayPublisher
from IPython.core.interactiveshell import InteractiveShell

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.compare import TraceComparison, compare_traces
from mlflow_trace_nb.display.cell_tags import register_cell_tags, unregister_cell_tags
from tests.display.test_static_html import HOSTILE, PAYLOADS, parse
from tests.helpers import last_trace


@mlflow.trace(span_type="CHAT_MODEL")
def llm(prompt: str, model: str = "gpt-4o-mini") -> str:
    mlflow.set_span_attribute(
        "mlflow.chat.tokenUsage", {"input_tokens": 10 * len(prompt), "output_tokens": 20}
    )
    mlflow.set_span_attribute("mlflow.llm.model", model)
    return f"answer to {prompt}"


@mlflow.trace(span_type="TOOL")
def search(query: str) -> list[str]:
    return [query.upper()]


@mlflow.trace(name="agent", span_type="AGENT")
def agent(question: str, searches: int = 1, model: str = "gpt-4o-mini") -> str:
    for i in range(searches):
        search(f"{question} {i}")
    return llm(question, model)


def test_spans_align_by_name_path_with_sibling_index() -> None:
    agent("paris", searches=1)
    a = last_trace()
    agent("paris", searches=2, model="gpt-4o")
    b = last_trace()
    result = compare_traces(a, b)
    paths = [s.path for s in result.spans]
    assert paths == ["agent[0]", "agent[0]/search[0]", "agent[0]/llm[0]", "agent[0]/search[1]"]
    added = result.spans[-1]
    assert added.only_in == "b" and added.status_a is None and added.status_b == "OK"
    same = result.spans[1]
    assert same.only_in is None and not same.inputs_changed and same.inputs_diff is None
    llm_row = result.spans[2]
    assert llm_row.inputs_changed and not llm_row.outputs_changed
    assert llm_row.inputs_diff is not None
    assert '- "model": "gpt-4o-mini",' in llm_row.inputs_diff
    assert llm_row.model_a == "gpt-4o-mini" and llm_row.model_b == "gpt-4o"
    assert llm_row.tokens_delta == 0
    assert llm_row.cost_a is not None and llm_row.cost_b is not None
    assert llm_row.cost_delta == pytest.approx(llm_row.cost_b - llm_row.cost_a)
    assert llm_row.latency_delta_ms == pytest.approx(llm_row.latency_b_ms - llm_row.latency_a_ms)
    assert result.spans[0].inputs_changed  # searches=1 -> 2, model changed
    assert result.totals["tokens_delta"] == 0


def test_inputs_and_outputs_are_diffed_as_compact_text() -> None:
    agent("paris")
    a = last_trace()
    agent("rome")
    b = last_trace()
    row = compare_traces(a, b).spans[0]
    assert row.inputs_changed and row.outputs_changed
    assert row.inputs_diff is not None and row.outputs_diff is not None
    assert '- "question": "paris"' in row.inputs_diff
    assert '+ "question": "rome"' in row.inputs_diff
    assert row.outputs_diff.splitlines() == [
        "@@ -1 +1 @@",
        '-"answer to paris"',
        '+"answer to rome"',
    ]
    llm_row = next(s for s in compare_traces(a, b).spans if s.name == "llm")
    assert llm_row.tokens_delta == 10 * len("rome") - 10 * len("paris")


def test_views_dataframe_dict_and_ids() -> None:
    agent("a")
    a = last_trace()
    agent("b")
    b = last_trace()
    result = compare_traces(a.request_id, b.request_id)  # ids work too
    assert isinstance(result, TraceComparison)
    frame = result.df
    assert list(frame["path"]) == [s.path for s in result.spans]
    assert {"latency_delta_ms", "tokens_delta", "cost_delta", "inputs_diff"} <= set(frame)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["a"]["id"] == a.request_id and data["b"]["id"] == b.request_id
    assert len(data["spans"]) == len(result.spans)
    assert "TraceComparison(" in repr(result)
    with pytest.raises(ValueError, match="no trace"):
        compare_traces("tr-" + "0" * 32, b)


def test_html_view_keeps_hostile_content_inert() -> None:
    @mlflow.trace(name=HOSTILE)
    def hostile(text: str) -> str:
        mlflow.set_span_attribute("mlflow.chat.tokenUsage", {"input_tokens": 1, "output_tokens": 1})
        mlflow.set_span_attribute("mlflow.llm.model", HOSTILE)
        return text

    hostile("before " + HOSTILE)
    a = last_trace()
    hostile("after " + HOSTILE)
    b = last_trace()
    page = compare_traces(a, b)._repr_html_()
    parsed = parse(page)
    allowed = {"div", "style", "span", "b", "table", "tr", "th", "td", "details", "summary", "pre"}
    for tag, attrs in parsed.tags:
        assert tag in allowed, tag
        for name, _ in attrs:
            assert name in {"class", "style", "title"}, (tag, name)
    lowered = page.lower()
    for needle in ("<script", "<img", "<svg", "<a ", "</style><"):
        assert needle not in lowered, needle
    text = "".join(parsed.text)
    assert "cost unknown" in text  # a hostile model name is no known model
    for payload in PAYLOADS:  # the name, the model and the diff reach the reader as text
        assert payload in text or json.dumps(payload)[1:-1] in text, payload


@pytest.fixture
def shell() -> Iterator[Any]:
    ipython = InteractiveShell.instance()
    ipython.display_pub = CapturingDisplayPublisher()
    assert register_cell_tags()
    ipython.run_cell("import mlflow_trace_nb as mlflow\nfrom tests.test_compare import agent")
    yield ipython
    unregister_cell_tags()
    InteractiveShell.clear_instance()


def test_one_argument_compares_with_the_previous_run_of_its_cell(shell: Any) -> None:
    shell.run_cell("agent('first')", store_history=True, cell_id="cell-a")
    shell.run_cell("agent('elsewhere')", store_history=True, cell_id="cell-b")
    shell.run_cell("agent('second')", store_history=True, cell_id="cell-a")
    shell.run_cell("agent('third')", store_history=True, cell_id="cell-a")
    latest = last_trace()
    result = mlflow.compare_traces(latest)
    root = result.spans[0]
    assert root.inputs_diff is not None
    assert '- "question": "second"' in root.inputs_diff  # the run just before, same cell
    assert '+ "question": "third"' in root.inputs_diff
    assert result.b_id == latest.request_id


def test_the_matching_trace_of_a_cell_making_several(shell: Any) -> None:
    code = "agent('plan {0}')\nmlflow.trace(len)('answer {0}')"
    shell.run_cell(code.format(1), store_history=True, cell_id="multi")
    shell.run_cell(code.format(2), store_history=True, cell_id="multi")
    result = mlflow.compare_traces(last_trace())  # the `len` trace of run 2
    assert [s.name for s in result.spans] == ["len"]
    assert result.spans[0].inputs_diff is not None
    assert "answer 1" in result.spans[0].inputs_diff


def test_no_earlier_run_is_a_clear_error(shell: Any) -> None:
    shell.run_cell("agent('only')", store_history=True, cell_id="lonely")
    with pytest.raises(ValueError, match="no earlier run"):
        mlflow.compare_traces(last_trace())
    mlflow.trace(len)("outside a cell id")
    with pytest.raises(ValueError, match="cell_id"):
        mlflow.compare_traces(last_trace())
