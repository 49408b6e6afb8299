"""MLflow's recorded keys computed on read (``entities.recorded``): span attributes, trace
metadata and tags, and that what the user set still round-trips."""

from __future__ import annotations

import json

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.entities import Span, TraceInfo
from mlflow_trace_nb.entities.recorded import (
    metadata_preview,
    token_usage,
    truncated_preview,
)
from tests.helpers import last_trace, set_attributes


def test_attributes_set_by_the_user_win_and_round_trip() -> None:
    with mlflow.start_span("s", span_type="TOOL") as span:
        span.set_inputs({"q": 1})
        span.set_attribute("mlflow.spanLogLevel", 30)
        span.set_attribute("k", [1, 2])
        assert span.attributes["k"] == [1, 2] and span.attributes["mlflow.spanInputs"] == {"q": 1}
        assert "mlflow.spanLogLevel" in span.attributes  # set: shown while running
    (stored,) = last_trace().data.spans
    assert stored.attributes["mlflow.spanLogLevel"] == 30
    assert stored.get_attribute("mlflow.spanLogLevel") == 30
    assert set_attributes(stored) == {"k": [1, 2]}
    again = Span.from_dict(json.loads(json.dumps(stored.to_dict())))
    assert again.attributes == stored.attributes
    assert again.to_dict() == stored.to_dict()


def test_a_running_span_has_no_log_level_until_it_ends_or_fails() -> None:
    with mlflow.start_span("s", span_type="LLM") as span:
        assert "mlflow.spanLogLevel" not in span.attributes
        assert span.get_attribute("mlflow.spanLogLevel") is None
        span.record_exception("bad")
        assert span.attributes["mlflow.spanLogLevel"] == 40


def test_the_attributes_dict_is_a_view_the_setters_are_the_way_to_change_it() -> None:
    with mlflow.start_span("s") as span:
        span.attributes["lost"] = 1  # as MLflow's Span.attributes: a new dict each time
        span.set_attribute("kept", 2)
    assert set_attributes(last_trace().data.spans[0]) == {"kept": 2}


def test_trace_name_tag_and_metadata_only_for_recorded_traces() -> None:
    built = TraceInfo(trace_id="tr-1", trace_metadata={"a": "b"}, tags={"t": "v"}, name="n")
    assert built.trace_metadata == {"a": "b"}  # built by the user: nothing added
    assert built.tags == {"t": "v", "mlflow.traceName": "n"}
    built.tags["x"] = "y"
    assert built.tags["x"] == "y"  # the dict is the info's own

    @mlflow.trace
    def f(x: int) -> int:
        mlflow.update_current_trace(metadata={"mlflow.traceInputs": "mine"})
        return x

    f(1)
    info = last_trace().info
    assert info.trace_metadata["mlflow.traceInputs"] == "mine"  # stored keys win
    assert info.trace_metadata["mlflow.traceOutputs"] == "1"
    assert "mlflow.trace.tokenUsage" not in info.trace_metadata  # no span has tokens
    assert info._own_metadata == {"mlflow.traceInputs": "mine"}  # stored, not twice
    assert info.request_metadata == info.trace_metadata  # MLflow 3: an alias


def test_metadata_preview_truncates_to_250_characters() -> None:
    assert metadata_preview(None) == metadata_preview("") == ""
    assert metadata_preview("x" * 250) == "x" * 250
    assert metadata_preview("x" * 251) == "x" * 247 + "..."


def test_truncated_preview_reads_chat_shapes() -> None:
    chat = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}
    assert truncated_preview(json.dumps(chat), "user") == "hi"
    responses = {"output": [{"role": "assistant", "content": "ok"}]}
    assert truncated_preview(json.dumps(responses), "assistant") == "ok"
    wrapped = {"request": {"input": [{"role": "user", "content": "q"}]}}
    assert truncated_preview(json.dumps(wrapped), "user") == "q"
    assert truncated_preview('"plain"', "user") == '"plain"'
    assert truncated_preview("not json", "user") == "not json"
    assert truncated_preview("y" * 1001, "user") == "y" * 997 + "..."
    assert truncated_preview(None, "user") is None


class _S:
    def __init__(self, span_id: str, parent_id: str | None, usage: object = None) -> None:
        self.span_id, self.parent_id = span_id, parent_id
        self.attributes = {} if usage is None else {"mlflow.chat.tokenUsage": usage}


def test_token_usage_skips_descendants_of_spans_with_counts() -> None:
    spans = [
        _S("a", None),
        _S("b", "a", {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}),
        _S("c", "b", {"input_tokens": 5, "output_tokens": 5, "total_tokens": 10}),
        _S("d", "a", json.dumps({"input_tokens": 2, "cache_read_input_tokens": 7})),
        _S("e", "gone", {"output_tokens": 3}),  # parent not in the trace: a root
    ]
    assert token_usage(spans) == {
        "input_tokens": 3,
        "output_tokens": 4,
        "total_tokens": 2,
        "cache_read_input_tokens": 7,
    }
    assert token_usage([_S("a", None)]) is None
    cycle = [_S("a", "b", {"input_tokens": 1}), _S("b", "a")]  # a damaged tree ends too
    assert token_usage(cycle) == {"input_tokens": 1, "output_tokens": 0, "total_tokens": 0}
