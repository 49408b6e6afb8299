"""``search_traces``' DataFrame, built from the store's rows (``query.frame_rows``), equals the
one built from ``Trace`` entities (``dataframe.traces_frame``) cell by cell: values, types,
repr, JSON, pickling; on ordinary traces, on odd ones and on rows damaged by hand."""

from __future__ import annotations

import contextlib
import json
import math
import pickle
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb.query.dataframe import TRACE_FRAME_COLUMNS, traces_frame
from mlflow_trace_nb.query.frame_rows import frame_values, trace_values


def _reference() -> pd.DataFrame:
    """The frame as the entity path builds it (the list ``search_traces`` returns)."""
    traces = mlflow.search_traces(return_type="list")
    assert isinstance(traces, list)
    return traces_frame(traces)


def _same_cell(a: Any, b: Any) -> bool:
    if a is pd.NA or b is pd.NA:
        return a is b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b and repr(a) == repr(b)


def assert_same_frames(fast: pd.DataFrame, slow: pd.DataFrame) -> None:
    assert list(fast.columns) == list(TRACE_FRAME_COLUMNS) == list(slow.columns)
    assert fast.dtypes.to_dict() == slow.dtypes.to_dict()
    assert len(fast) == len(slow)
    for column in fast.columns:
        for i, (a, b) in enumerate(zip(fast[column], slow[column], strict=True)):
            assert _same_cell(a, b), (column, i, a, b)
    pd.testing.assert_frame_equal(fast, slow)
    assert repr(fast) == repr(slow)
    assert fast.to_json() == slow.to_json()
    assert pickle.loads(pickle.dumps(fast)).to_json() == slow.to_json()
    for text in fast["trace"]:
        assert mlflow.Trace.from_json(text).trace_id in set(fast["trace_id"])


def _fast() -> pd.DataFrame:
    frame = mlflow.search_traces()
    assert isinstance(frame, pd.DataFrame)
    return frame


@mlflow.trace(span_type="LLM")
def _llm(prompt: Any) -> Any:
    mlflow.set_span_attribute("model", "gpt-é")
    mlflow.set_span_attribute("usage", {"input_tokens": 3, "output_tokens": 4, "ratio": 0.5})
    mlflow.set_span_attribute("list", [1, "two", None, {"x": [True, False]}])
    if prompt == "boom":
        raise ValueError('bad "input"\nwith newline')
    return {"text": f"echo {prompt}", "n": 1.25, "big": 10**30}


@mlflow.trace(name="pipeline")
def _pipeline(prompt: Any, user: str = "ana") -> Any:
    mlflow.update_current_trace(
        tags={"user": user, "quote": 'a"b', "uni": "日本"},
        metadata={"session": "s1"},
        client_request_id=f"req-{user}",
    )
    return _llm(prompt)


@mlflow.trace
def _plain(x: Any) -> Any:
    return x


def _make_ordinary() -> None:
    for prompt in ["hello", 'with "quotes" and \\ back', "tab\tand\u0001ctl", "日本語", "boom"]:
        with contextlib.suppress(ValueError):
            _pipeline(prompt)
    _plain(None)
    _plain("s")
    _plain(3)
    _plain(float("nan"))
    _plain([1, [2, [3]]])
    _plain({"deep": {"a": {"b": [{"c": "d"}]}}})
    _plain("x" * 3000)  # previews cut at 1000 characters
    with mlflow.start_span("manual") as span:
        span.set_inputs({"q": 1})
        span.set_attribute("k", "v")
        span.add_event(mlflow.SpanEvent("note", attributes={"a": 1}))
    with mlflow.start_span("no payloads"):
        pass
    mlflow.flush()


def test_ordinary_traces_same_frame() -> None:
    _make_ordinary()
    fast = _fast()
    assert len(fast) >= 14
    assert_same_frames(fast, _reference())
    for text in fast["trace"]:  # the trace column reads back as the same trace
        assert json.loads(mlflow.Trace.from_json(text).to_json()) == json.loads(text)


@mlflow.trace(span_type="CHAT_MODEL")
def _chat(messages: list[dict[str, str]], tokens: int) -> dict[str, Any]:
    mlflow.set_span_attribute(
        "mlflow.chat.tokenUsage",
        {"input_tokens": tokens, "output_tokens": 1, "total_tokens": tokens + 1},
    )
    return {"choices": [{"message": {"role": "assistant", "content": f"answer {tokens}"}}]}


@mlflow.trace(span_type="AGENT")
def _agent(question: str) -> Any:
    _chat([{"role": "system", "content": "be brief"}, {"role": "user", "content": question}], 5)
    with mlflow.start_span("tool", span_type="TOOL") as tool:
        tool.set_attribute("mlflow.chat.tokenUsage", '{"input_tokens": 7, "output_tokens": 2}')
        tool.set_attribute("mlflow.tool.cost", 0.25)
        with mlflow.start_span("priced") as priced:  # under a span with a cost: not added
            priced.set_attribute("mlflow.llm.cost", {"input_cost": 1.0, "total_cost": 1.0})
        _chat([{"role": "user", "content": "nested"}], 100)  # under a span with counts
        tool.record_exception(ValueError("tool failed"))
    return {"messages": [{"role": "assistant", "content": "done " * 300}]}


def test_what_mlflow_records_same_frame() -> None:
    """Token usage summed over the tree, log levels (an exception event is ERROR), chat
    previews and the 250-character metadata previews: computed alike on both paths."""
    _agent("what is up?")
    with mlflow.start_span("leveled") as span:
        span.set_attribute("mlflow.spanLogLevel", 30)  # set by the user: kept
    mlflow.flush()
    fast = _fast()
    assert_same_frames(fast, _reference())
    agent = fast[fast["trace_metadata"].map(lambda m: "mlflow.trace.tokenUsage" in m)]
    usage = json.loads(agent.iloc[0]["trace_metadata"]["mlflow.trace.tokenUsage"])
    assert usage == {"input_tokens": 12, "output_tokens": 3, "total_tokens": 6}
    cost = json.loads(agent.iloc[0]["trace_metadata"]["mlflow.trace.cost"])
    assert cost == {"input_cost": 0.0, "output_cost": 0.0, "total_cost": 0.25}
    levels = {
        s["name"]: s["attributes"].get("mlflow.spanLogLevel")
        for spans in fast["spans"]
        for s in spans
    }
    assert levels == {"_agent": "20", "_chat": "20", "tool": "40", "priced": "10", "leveled": "30"}


def test_empty_store_same_frame() -> None:
    assert_same_frames(_fast(), traces_frame([]))


def test_assessments_same_frame() -> None:
    _make_ordinary()
    ids = list(_fast()["trace_id"])
    mlflow.log_feedback(trace_id=ids[0], name="quality", value=0.5, rationale="ok")
    mlflow.log_expectation(trace_id=ids[2], name="expected", value={"answer": "x"})
    fast = _fast()
    assert fast.iloc[0]["assessments"] and not fast.iloc[1]["assessments"]
    assert_same_frames(fast, _reference())


def test_filtered_and_limited_same_frame() -> None:
    _make_ordinary()
    for kwargs in [
        {"filter_string": "tags.user = 'ana'"},
        {"filter_string": "status = 'ERROR'"},
        {"max_results": 3, "order_by": ["timestamp_ms ASC"]},
        {"filter_string": "tags.user = 'nobody'"},
    ]:
        fast = mlflow.search_traces(**kwargs)
        slow = traces_frame(mlflow.search_traces(return_type="list", **kwargs))
        assert_same_frames(fast, slow)


def test_open_trace_same_frame() -> None:
    span = mlflow.start_span_no_context("still running", inputs={"a": 1})
    _plain(1)
    mlflow.flush()
    fast = _fast()
    assert_same_frames(fast, _reference())
    span.end()


# Rows changed by hand: what another version, a crash or a person may leave (children are
# in span_rows, roots in their trace's row; ``spans`` is a view of both) -------------------
def _damage(db: Path, sql: str, *args: Any) -> None:
    mlflow.flush()
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(sql, args)
    conn.close()


DAMAGE = [
    ("UPDATE span_rows SET inputs = 'not json' WHERE name = 'child'", ()),
    ("UPDATE span_rows SET inputs = ' {\"a\": 1}' WHERE name = 'child'", ()),
    ("UPDATE span_rows SET inputs = '1,2', outputs = '3' WHERE name = 'child'", ()),
    ("UPDATE span_rows SET outputs = '' WHERE name = 'child'", ()),
    ("UPDATE span_rows SET attributes = '[1, 2]' WHERE name = 'child'", ()),
    ("UPDATE span_rows SET attributes = 'oops' WHERE name = 'child'", ()),
    ("UPDATE span_rows SET events = '{}' WHERE name = 'child'", ()),
    ('UPDATE span_rows SET events = \'[1, {"name": "e"}, {"timestamp_ns": 5}]\'', ()),
    ("UPDATE span_rows SET status_code = 'ok' WHERE name = 'child'", ()),
    ("UPDATE span_rows SET status_code = 'CANCELLED', status_message = ''", ()),
    ("UPDATE span_rows SET status_code = 'TIMEOUT', status_message = 'late'", ()),
    ("UPDATE span_rows SET status_message = 5 WHERE name = 'child'", ()),
    ("UPDATE span_rows SET start_time_ns = '12' WHERE name = 'child'", ()),
    ("UPDATE span_rows SET end_time_ns = 1.5 WHERE name = 'child'", ()),
    ("UPDATE span_rows SET end_time_ns = NULL WHERE name = 'child'", ()),
    ("UPDATE span_rows SET span_type = NULL", ()),
    ("UPDATE span_rows SET span_type = 7", ()),
    ("UPDATE span_rows SET name = 5 WHERE name = 'child'", ()),
    ("UPDATE span_rows SET parent_id = 'ffffffffffffffff' WHERE name = 'child'", ()),
    ("UPDATE span_rows SET parent_id = '' WHERE name = 'child'", ()),
    ("UPDATE traces SET root_span_id = 'abababababababab'", ()),
    ("UPDATE traces SET root_span_id = NULL", ()),  # the root gone
    ("DELETE FROM span_rows", ()),
    # the root's own columns (a root lives in its trace's row, see store.rows.ROOT_COLUMNS)
    ("UPDATE traces SET root_span_type = 7, root_status_message = 5", ()),
    ("UPDATE traces SET root_attributes = 'oops', root_events = '{}'", ()),
    ("UPDATE traces SET root_end_ns = NULL", ()),
    ("UPDATE traces SET request = 'not json'", ()),
    ("UPDATE traces SET request = NULL, response = NULL", ()),
    ("UPDATE traces SET request = '[1, 2]', response = 'null'", ()),
    ("UPDATE traces SET request_metadata = 'x', tags = '[]'", ()),
    (
        "UPDATE traces SET request_metadata = ?",
        (
            json.dumps(
                {
                    "mlflow_trace_nb.request_preview": "given",
                    "mlflow_trace_nb.response_preview": 5,
                    "mlflow_trace_nb.client_request_id": "c",
                    "other": "kept",
                }
            ),
        ),
    ),
    ('UPDATE traces SET tags = \'{"mlflow.traceName": "renamed"}\', name = NULL', ()),
    ("UPDATE traces SET status = 'UNSET', execution_time_ms = NULL", ()),
    ("UPDATE traces SET status = 'CANCELLED'", ()),
    ("UPDATE traces SET experiment_id = 0", ()),
    ("UPDATE traces SET timestamp_ms = 0", ()),
]


@pytest.mark.parametrize(("sql", "args"), DAMAGE, ids=[d[0][:60] for d in DAMAGE])
def test_damaged_rows_same_frame(db_path: Path, sql: str, args: tuple[Any, ...]) -> None:
    _pipeline("hello")
    with mlflow.start_span("parent"):
        with mlflow.start_span("child") as child:
            child.set_inputs({"a": 1})
            child.set_outputs([1, 2])
        _plain("x")
    _damage(db_path, sql, *args)
    assert_same_frames(_fast(), _reference())


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE span_rows SET span_id = 'not hex' WHERE name = 'child'",
        "UPDATE span_rows SET start_time_ns = 'x' WHERE name = 'child'",
        "UPDATE traces SET timestamp_ms = 'soon'",
        "UPDATE traces SET root_start_ns = 'x'",
    ],
)
def test_unreadable_rows_fail_alike(db_path: Path, sql: str) -> None:
    """Rows the entity path cannot convert make both paths raise the same error."""
    with mlflow.start_span("parent"), mlflow.start_span("child"):
        pass
    _damage(db_path, sql)
    with pytest.raises(Exception) as slow:
        _reference()
    with pytest.raises(type(slow.value)):
        _fast()


def test_trace_values_of_a_live_trace_matches_stored() -> None:
    """``trace_values`` converts any ``Trace`` (here: read back by ``get_trace``)."""
    _pipeline("hello")
    trace = mlflow.get_last_active_trace()
    assert trace is not None
    values = trace_values(trace)
    row = _fast().iloc[0]
    for name, value in zip(TRACE_FRAME_COLUMNS, values, strict=True):
        if name in ("request_time", "execution_duration"):
            assert value == row[name]
        else:
            assert _same_cell(value, row[name]), name
    assert RUNTIME.store.count_traces() == 1


def test_ordinary_traces_take_the_row_path() -> None:
    """Only traces with assessments (or odd rows) are built as entities."""
    _make_ordinary()
    mlflow.log_feedback(trace_id=str(_fast()["trace_id"][0]), name="q", value=True)
    loaded: list[Any] = []

    def build(rows: Any, spans: Any, assessed: Any, load: Any) -> Any:
        def counting(some: list[Any]) -> Any:
            loaded.extend(some)
            return load(some)

        return frame_values(rows, spans, assessed, counting)

    values = RUNTIME.store.search_rows(build, experiment_ids=None)
    assert len(values) >= 14
    assert [row[0] for row in loaded] == [values[0][0]]
