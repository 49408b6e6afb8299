"""search_traces / search_spans / get_trace through the public API, on a real SQLite file."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.errors import MlflowException
from mlflow_trace_nb.query.dataframe import (
    ANALYSIS_FRAME_COLUMNS,
    SPAN_FRAME_COLUMNS,
    TRACE_FRAME_COLUMNS,
)
from mlflow_trace_nb.tracing import SpanType


@mlflow.trace(span_type=SpanType.LLM)
def llm(prompt: str, model: str) -> str:
    mlflow.tracing.set_span_attribute("model_name", model)
    mlflow.tracing.set_span_attribute("tokens", len(prompt))
    if prompt == "fail":
        raise RuntimeError("model refused")
    return prompt[::-1]


@mlflow.trace(span_type=SpanType.CHAIN)
def pipeline(prompt: str, user: str, model: str = "gpt-4") -> str:
    mlflow.update_current_trace(tags={"user": user, "mlflow.traceName": f"run-{prompt}"})
    return llm(prompt, model)


def make_traces() -> list[str]:
    ids = []
    for prompt, user, model in [
        ("hello", "ana", "gpt-4"),
        ("world", "bob", "claude"),
        ("fail", "ana", "gpt-4"),
        ("again", "cy", "claude"),
    ]:
        with contextlib.suppress(RuntimeError):
            pipeline(prompt, user, model)
        trace = mlflow.get_last_active_trace()
        assert trace is not None
        ids.append(trace.request_id)
    return ids


def names(frame: pd.DataFrame) -> list[object]:
    return [r["prompt"] for r in frame["request"]]


def test_dataframe_has_mlflow_columns_newest_first() -> None:
    ids = make_traces()
    frame = mlflow.search_traces()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(TRACE_FRAME_COLUMNS)
    assert list(frame["trace_id"]) == ids[::-1]
    row = frame.iloc[-1]
    assert row["request"] == {"prompt": "hello", "user": "ana", "model": "gpt-4"}
    assert row["response"] == "olleh"
    assert row["state"] == "OK" and row["tags"]["user"] == "ana"
    assert row["tags"]["mlflow.traceName"] == "run-hello"
    assert [s["name"] for s in row["spans"]] == ["pipeline", "llm"]
    assert mlflow.Trace.from_json(row["trace"]).trace_id == row["trace_id"]
    assert frame.iloc[1]["state"] == "ERROR"
    assert frame["execution_duration"].dtype.name == "int64"
    assert frame["request_time"].dtype.name == "int64"


def test_dataframe_columns_and_types_are_mlflow_3s(tmp_path: Path, monkeypatch) -> None:
    real = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    previous = real.get_tracking_uri()
    real.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    real.tracing.reset()  # MLflow builds its tracer provider once, for the URI of the moment
    real.set_experiment("compat")  # an experiment of this store (not one a test left active)
    try:
        real.trace(lambda prompt: prompt[::-1])("hi")  # same value types as make_traces
        theirs = real.search_traces()
    finally:
        real.set_tracking_uri(previous)
        real.tracing.reset()
    make_traces()
    ours = mlflow.search_traces()
    assert list(ours.columns) == list(theirs.columns)
    assert {c: str(t) for c, t in ours.dtypes.items()} == {
        c: str(t) for c, t in theirs.dtypes.items()
    }


def test_analysis_frame_has_flat_columns() -> None:
    make_traces()
    flat = mlflow.analysis_frame()
    assert list(flat.columns) == list(ANALYSIS_FRAME_COLUMNS)
    assert list(flat["name"]) == ["pipeline"] * 4
    assert list(flat["state"]) == ["OK", "ERROR", "OK", "OK"]
    assert flat["duration_ms"].dtype.name == "Int64"
    assert (flat["duration_ms"] >= 0).all()
    # from a search_traces frame: the same rows
    again = mlflow.analysis_frame(mlflow.search_traces())
    assert list(again["trace_id"]) == list(flat["trace_id"])


def test_return_type_list_and_validation() -> None:
    make_traces()
    traces = mlflow.search_traces(return_type="list")
    assert isinstance(traces, list) and len(traces) == 4
    with pytest.raises(MlflowException, match="Invalid return type: json"):  # a ValueError
        mlflow.search_traces(return_type="json")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_results"):
        mlflow.search_traces(max_results=-1)
    with pytest.raises(ValueError, match="experiment id"):
        mlflow.search_traces(experiment_ids=["abc"])


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("status = 'ERROR'", ["fail"]),
        ("attributes.status != 'ERROR'", ["again", "world", "hello"]),
        ("tags.user = 'ana'", ["fail", "hello"]),
        ("tags.user IN ('bob', 'cy')", ["again", "world"]),
        ("tags.`mlflow.traceName` LIKE 'run-w%'", ["world"]),
        ("span.type = 'LLM' AND span.attributes.model_name = 'claude'", ["again", "world"]),
        ("span.attributes.tokens > 4", ["again", "world", "hello"]),
        (
            "tags.user = 'ana' OR (span.attributes.model_name = 'claude' AND NOT tags.user = 'cy')",
            ["fail", "world", "hello"],
        ),
        ("span.name = 'llm' AND span.status = 'ERROR'", ["fail"]),
        ("trace.name = 'pipeline' AND execution_time_ms >= 0", ["again", "fail", "world", "hello"]),
        ("tags.missing IS NULL AND tags.user NOT IN ('ana')", ["again", "world"]),
    ],
)
def test_filters(filter_string: str, expected: list[str]) -> None:
    make_traces()
    assert names(mlflow.search_traces(filter_string=filter_string)) == expected


def test_order_by_and_max_results() -> None:
    make_traces()
    oldest_two = mlflow.search_traces(order_by=["timestamp_ms ASC"], max_results=2)
    assert names(oldest_two) == ["hello", "world"]
    by_name_desc = mlflow.search_traces(order_by=["name DESC", "timestamp_ms ASC"])
    assert names(by_name_desc) == ["hello", "world", "fail", "again"]
    assert len(mlflow.search_traces(max_results=0)) == 0
    with pytest.raises(ValueError):
        mlflow.search_traces(order_by=["request; DROP TABLE traces"])


def test_bad_filters_say_what_and_where() -> None:
    make_traces()
    with pytest.raises(ValueError, match="position"):
        mlflow.search_traces(filter_string="status = ")
    with pytest.raises(ValueError):
        mlflow.search_traces(filter_string="bogus.key = 'x'")
    with pytest.raises(ValueError):
        mlflow.search_traces(filter_string="status = 'OK' AND (name = 'x'")
    # an injection attempt is data, and the tables survive
    assert len(mlflow.search_traces(filter_string="name = 'x'' OR 1=1 --'")) == 0
    assert len(mlflow.search_traces()) == 4


def test_search_spans_frame() -> None:
    make_traces()
    spans = mlflow.search_spans(filter_string="status = 'ERROR'")
    assert list(spans.columns) == list(SPAN_FRAME_COLUMNS)
    assert list(spans["name"]) == ["pipeline", "llm"]
    llm_row = spans[spans["name"] == "llm"].iloc[0]
    assert llm_row["status_code"] == "ERROR"
    assert llm_row["attributes"] == {
        "model_name": "gpt-4",
        "tokens": 4,
        "mlflow.spanFunctionName": "llm",
    }
    assert llm_row["parent_id"] == spans[spans["name"] == "pipeline"].iloc[0]["span_id"]
    assert llm_row["duration_ms"] >= 0
    assert llm_row["events"][0]["attributes"]["exception.message"] == "model refused"
    all_spans = mlflow.search_spans()
    assert len(all_spans) == 8
    assert all_spans.groupby("span_type").size().to_dict() == {"CHAIN": 4, "LLM": 4}


def test_reads_see_own_writes_without_sleep() -> None:
    for i in range(20):
        pipeline(f"p{i}", "u")
        assert len(mlflow.search_traces(max_results=100)) == i + 1


def test_get_trace_round_trip() -> None:
    ids = make_traces()
    trace = mlflow.get_trace(ids[2])
    assert trace is not None
    assert trace.request_id == ids[2] and trace.status == "ERROR"
    assert trace.info.trace_id == ids[2] and trace.data.spans == trace.spans
    assert [s.name for s in trace.search_spans(span_type="LLM")] == ["llm"]
    assert trace.to_dict()["data"]["spans"][1]["name"] == "llm"


def test_mlflow3_trace_attribute_keys_for_filters_and_order_by() -> None:
    """MLflow 3's ``run_id`` and ``client_request_id`` (request-metadata entries here),
    ``execution_time``, ``end_time``/``end_time_ms`` in filters, and ``experiment_id``,
    ``execution_time``, ``end_time_ms``, ``run_id`` in ``order_by`` (all were refused)."""
    import time

    for i in range(3):
        with mlflow.start_span(f"s{i}"):
            mlflow.update_current_trace(
                metadata={"mlflow.sourceRun": f"run{i}"}, client_request_id=f"req-{i}"
            )
            time.sleep(0.02 * i)
    mlflow.flush()

    def runs(**kwargs: Any) -> list[str]:
        found = mlflow.search_traces(return_type="list", **kwargs)
        return [t.info.request_metadata["mlflow.sourceRun"] for t in found]  # type: ignore[union-attr]

    assert runs(filter_string="run_id = 'run1'") == ["run1"]
    assert runs(filter_string="attributes.run_id = 'run2'") == ["run2"]
    assert runs(filter_string="client_request_id = 'req-0'") == ["run0"]
    assert sorted(runs(filter_string="execution_time >= 10")) == ["run1", "run2"]
    assert len(runs(filter_string="end_time_ms > 0 AND end_time > 0")) == 3
    assert runs(order_by=["run_id DESC"]) == ["run2", "run1", "run0"]
    assert runs(order_by=["execution_time DESC"]) == ["run2", "run1", "run0"]
    assert runs(order_by=["end_time_ms ASC"]) == ["run0", "run1", "run2"]
    assert len(runs(order_by=["experiment_id"])) == 3
