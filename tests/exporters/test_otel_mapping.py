"""Our spans -> OpenTelemetry spans with MLflow and OpenInference attribute conventions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import StatusCode

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.exporters.otel_mapping import (
    SERVICE_NAME,
    snapshot_items,
    to_readable_spans,
)
from mlflow_trace_nb.exporters.otlp import encode_entries
from mlflow_trace_nb.testing.collector import Collector


@pytest.fixture
def collected() -> Collector:
    collector = Collector()
    mlflow.set_destination(["memory", collector])
    return collector


def _record() -> None:
    @mlflow.trace(span_type="AGENT")
    def agent(question: str) -> dict[str, Any]:
        with mlflow.start_span("llm", span_type="CHAT_MODEL") as span:
            span.set_inputs([{"role": "user", "content": question}])
            span.set_outputs("forty-two")
            span.set_attributes(
                {
                    "mlflow.llm.model": "gpt-test",
                    "mlflow.llm.provider": "openai",
                    "mlflow.chat.tokenUsage": {
                        "input_tokens": 5,
                        "output_tokens": 2,
                        "total_tokens": 7,
                    },
                    "temperature": 0.5,
                    "stop": ["a", "b"],
                    "nested": {"k": [1, {"x": None}]},
                }
            )
            span.add_event("chunk", {"index": 1, "payload": {"t": "forty"}})
        with mlflow.start_span("tool", span_type="TOOL") as span:
            span.set_status("CANCELLED", "user gave up")
        return {"answer": 42}

    agent("what?")


def _spans_by_name(collector: Collector) -> dict[str, Any]:
    mlflow.flush()
    spans = to_readable_spans(snapshot_items(collector.items))
    return {s.name: s for s in spans}


def test_tree_ids_and_times_match_ours(collected: Collector) -> None:
    _record()
    trace = mlflow.get_last_active_trace()
    assert trace is not None
    otel = _spans_by_name(collected)
    ours = {s.name: s for s in trace.data.spans}
    assert set(otel) == {"agent", "llm", "tool"}
    trace_hex = trace.info.request_id[3:]
    for name, span in otel.items():
        assert f"{span.context.trace_id:032x}" == trace_hex
        assert f"{span.context.span_id:016x}" == ours[name].span_id
        assert span.start_time == ours[name].start_time_ns
        assert span.end_time == ours[name].end_time_ns
        assert span.resource.attributes["service.name"] == SERVICE_NAME
    assert otel["agent"].parent is None
    assert f"{otel['llm'].parent.span_id:016x}" == ours["agent"].span_id


def test_mlflow_and_openinference_attributes(collected: Collector) -> None:
    _record()
    otel = _spans_by_name(collected)
    root, llm = otel["agent"].attributes, otel["llm"].attributes
    assert json.loads(root["mlflow.spanType"]) == "AGENT"
    assert json.loads(root["mlflow.spanInputs"]) == {"question": "what?"}
    assert json.loads(root["mlflow.spanOutputs"]) == {"answer": 42}
    assert json.loads(root["mlflow.traceRequestId"]).startswith("tr-")
    assert root["openinference.span.kind"] == "AGENT"
    assert root["input.mime_type"] == "application/json"
    assert json.loads(root["input.value"]) == {"question": "what?"}

    assert json.loads(llm["mlflow.spanType"]) == "CHAT_MODEL"
    assert llm["openinference.span.kind"] == "LLM"
    assert llm["output.value"] == "forty-two" and llm["output.mime_type"] == "text/plain"
    assert llm["llm.model_name"] == "gpt-test" and llm["llm.provider"] == "openai"
    assert llm["llm.token_count.prompt"] == 5
    assert llm["llm.token_count.completion"] == 2
    assert llm["llm.token_count.total"] == 7
    assert llm["temperature"] == 0.5 and tuple(llm["stop"]) == ("a", "b")
    assert json.loads(llm["nested"]) == {"k": [1, {"x": None}]}
    assert json.loads(llm["mlflow.chat.tokenUsage"])["total_tokens"] == 7


def test_statuses_and_events(collected: Collector) -> None:
    @mlflow.trace
    def failing() -> None:
        raise RuntimeError("bad input")

    with pytest.raises(RuntimeError):
        failing()
    _record()
    otel = _spans_by_name(collected)
    assert otel["failing"].status.status_code is StatusCode.ERROR
    assert "bad input" in (otel["failing"].status.description or "")
    [exception] = otel["failing"].events
    assert exception.name == "exception"
    assert exception.attributes["exception.type"] == "RuntimeError"
    assert otel["tool"].status.status_code is StatusCode.ERROR
    assert otel["tool"].status.description == "CANCELLED: user gave up"
    assert otel["agent"].status.status_code is StatusCode.OK
    [chunk] = otel["llm"].events
    assert chunk.name == "chunk" and chunk.attributes["index"] == 1
    assert json.loads(chunk.attributes["payload"]) == {"t": "forty"}


def test_a_span_ending_after_its_root_is_sent_on_its_own(collected: Collector) -> None:
    root = mlflow.start_span("root")
    straggler = mlflow.start_span("straggler")
    root.end()  # the trace is handed on with the straggler still running
    mlflow.flush()
    first = snapshot_items(collected.items)
    assert [s.name for _, spans in first for s in spans] == ["root"]
    straggler.end()
    mlflow.flush()
    late = snapshot_items(collected.items[1:])
    assert [s.name for _, spans in late for s in spans] == ["straggler"]
    [span] = to_readable_spans(late)
    assert span.parent is not None and span.parent.span_id == first[0][1][0].span_id


def test_protobuf_encoding_round_trips(collected: Collector) -> None:
    _record()
    mlflow.flush()
    body = encode_entries(snapshot_items(collected.items), experiment_id="17")
    request = ExportTraceServiceRequest.FromString(body)
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert sorted(s.name for s in spans) == ["agent", "llm", "tool"]
    assert all(len(s.trace_id) == 16 and len(s.span_id) == 8 for s in spans)
    attrs = {a.key: a.value.string_value for a in spans[0].attributes}
    assert json.loads(attrs["mlflow.experimentId"]) == "17"


def test_large_batches_are_encoded_in_chunks_into_one_request(collected: Collector) -> None:
    for _ in range(20):
        _record()  # 3 spans each: 60 spans, more than one encoding chunk
    mlflow.flush()
    request = ExportTraceServiceRequest.FromString(encode_entries(snapshot_items(collected.items)))
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert len(spans) == 60
    assert len({s.span_id for s in spans}) == 60
    assert len({s.trace_id for s in spans}) == 20
