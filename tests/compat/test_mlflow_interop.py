"""Traces cross between real MLflow 3 and this package in MLflow's own JSON format: made and
serialised by ``mlflow`` (in-process, SQLite tracking store in tmp_path) and loaded here, and
the reverse, compared field by field."""

from __future__ import annotations

from typing import Any

import pytest

import mlflow_trace_nb
from mlflow_trace_nb.entities import Trace

pytest.importorskip("mlflow")  # the ``real_mlflow`` fixture: tests/compat/conftest.py


def _assert_same_trace(ours: Any, theirs: Any) -> None:
    assert ours.info.trace_id == theirs.info.trace_id
    mine_location = ours.info.trace_location.mlflow_experiment
    assert mine_location.experiment_id == theirs.info.trace_location.mlflow_experiment.experiment_id
    assert ours.info.request_time == theirs.info.request_time
    assert ours.info.execution_duration == theirs.info.execution_duration
    assert ours.info.state.value == theirs.info.state.value
    assert ours.info.trace_metadata == theirs.info.trace_metadata
    assert ours.info.tags == theirs.info.tags
    assert ours.info.to_dict().get("tags", {}) == theirs.info.tags
    assert ours.info.client_request_id == theirs.info.client_request_id
    assert ours.info.request_preview == theirs.info.request_preview
    assert ours.info.response_preview == theirs.info.response_preview
    assert len(ours.data.spans) == len(theirs.data.spans)
    for mine, other in zip(ours.data.spans, theirs.data.spans, strict=True):
        assert mine.name == other.name
        assert mine.trace_id == other.trace_id
        assert mine.span_id == other.span_id
        assert mine.parent_id == other.parent_id
        assert mine.start_time_ns == other.start_time_ns
        assert mine.end_time_ns == other.end_time_ns
        assert mine.status.status_code.value == other.status.status_code.value
        assert mine.status.description == other.status.description
        assert mine.span_type == other.span_type
        assert mine.inputs == other.inputs
        assert mine.outputs == other.outputs
        assert mine.attributes == other.attributes
        assert [(e.name, e.timestamp, e.attributes) for e in mine.events] == [
            (e.name, e.timestamp, e.attributes) for e in other.events
        ]


def test_a_trace_made_by_mlflow_loads_here(real_mlflow: Any) -> None:
    @real_mlflow.trace(span_type="LLM")
    def answer(x: int, y: int = 2) -> dict[str, int]:
        real_mlflow.update_current_trace(tags={"team": "a"}, client_request_id="req-1")
        with real_mlflow.start_span("child") as span:
            span.add_event(real_mlflow.entities.SpanEvent("retry", attributes={"n": 1}))
            span.set_attribute("docs", [1, 2])
        return {"z": x + y}

    answer(1)
    theirs = real_mlflow.get_trace(real_mlflow.get_last_active_trace_id())
    assert theirs is not None

    ours = Trace.from_json(theirs.to_json(pretty=True))

    _assert_same_trace(ours, theirs)
    assert ours.spans[1].attributes["docs"] == [1, 2]
    assert ours.to_dict() == theirs.to_dict()  # and it writes back what it read


def test_a_trace_made_here_loads_in_mlflow(real_mlflow: Any) -> None:
    @mlflow_trace_nb.trace(span_type="CHAIN")
    def answer(question: str) -> str:
        mlflow_trace_nb.update_current_trace(tags={"team": "b"}, client_request_id="req-2")
        with mlflow_trace_nb.start_span("retrieve", span_type="RETRIEVER") as span:
            span.set_inputs({"q": question})
            span.set_outputs(["doc"])
            span.set_attribute("k", 3)
        return "42"

    answer("why?")
    ours = mlflow_trace_nb.get_last_active_trace()
    assert ours is not None

    theirs = real_mlflow.entities.Trace.from_json(ours.to_json())

    _assert_same_trace(ours, theirs)
    assert theirs.info.client_request_id == "req-2" and theirs.info.tags["team"] == "b"
    assert theirs.data.spans[1].span_type == "RETRIEVER"


def test_a_failed_span_keeps_its_status_and_exception_event(real_mlflow: Any) -> None:
    with pytest.raises(ValueError, match="boom"), mlflow_trace_nb.start_span("fails"):
        raise ValueError("boom")
    ours = mlflow_trace_nb.get_last_active_trace()
    assert ours is not None

    theirs = real_mlflow.entities.Trace.from_dict(ours.to_dict())

    _assert_same_trace(ours, theirs)
    assert theirs.info.state.value == "ERROR"
    assert theirs.data.spans[0].events[0].attributes["exception.type"] == "ValueError"
