"""OTel GenAI semantic-convention keys from the shapes our instrumentations record, the
``semconv`` choice of a destination, and what real receivers (an OTLP receiver, MLflow's
``/v1/traces``) get."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.exporters.semconv_genai import genai_attributes
from mlflow_trace_nb.exporters.semconv_select import ALL, parse_semconv
from mlflow_trace_nb.testing.llm_server import LLMServer, start_server
from mlflow_trace_nb.tracing.destination import OTLP, MlflowExperiment
from tests.conftest_servers import MlflowServer
from tests.exporters._remote import new_experiment, remote_traces, wait_for_count
from tests.exporters._semconv_receiver import receiving, recorded_spans, run_workload


@pytest.fixture(scope="module")
def llm_server() -> Iterator[LLMServer]:
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def spans(llm_server: LLMServer) -> dict[str, Any]:
    mlflow.set_destination("memory")
    return recorded_spans(llm_server)


def _map(span: Any) -> dict[str, Any]:
    return genai_attributes(
        span.span_type, span.attributes, span.inputs, span.outputs, name=span.name
    )


def test_openai_chat(spans: dict[str, Any]) -> None:
    span = spans["openai.chat.completions.create"]
    got = _map(span)
    assert got["gen_ai.operation.name"] == "chat"
    assert got["gen_ai.provider.name"] == got["gen_ai.system"] == "openai"
    assert got["gen_ai.request.model"] == "gpt-4o-mini"
    assert got["gen_ai.response.model"] == span.outputs["model"] != "gpt-4o-mini"
    assert got["gen_ai.response.id"] == span.outputs["id"]
    assert got["gen_ai.response.finish_reasons"] == ("tool_calls",)
    usage = span.attributes["mlflow.chat.tokenUsage"]
    assert got["gen_ai.usage.input_tokens"] == usage["input_tokens"]
    assert got["gen_ai.usage.output_tokens"] == usage["output_tokens"]
    assert got["gen_ai.request.temperature"] == 0.2
    assert got["gen_ai.request.max_tokens"] == 64
    assert got["gen_ai.request.stop_sequences"] == ("END",)
    assert json.loads(got["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
    ]
    [answer] = json.loads(got["gen_ai.output.messages"])
    assert answer["role"] == "assistant" and answer["finish_reason"] == "tool_calls"
    [call] = answer["parts"]
    assert call["type"] == "tool_call" and call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    [tool] = json.loads(got["gen_ai.tool.definitions"])
    assert tool["type"] == "function" and tool["name"] == "get_weather"
    assert tool["parameters"]["properties"] == {"city": {"type": "string"}}


def test_anthropic_messages_and_system_instructions(spans: dict[str, Any]) -> None:
    got = _map(spans["anthropic.messages.create"])
    assert got["gen_ai.provider.name"] == "anthropic"
    assert json.loads(got["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "You are terse."}
    ]
    history = json.loads(got["gen_ai.input.messages"])
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    assert history[1]["parts"][0] == {
        "type": "tool_call",
        "id": "toolu_1",
        "name": "get_weather",
        "arguments": "{}",
    }
    assert history[2]["parts"] == [
        {"type": "tool_call_response", "id": "toolu_1", "response": "sunny"}
    ]
    assert got["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert got["gen_ai.request.max_tokens"] == 50


def test_responses_api(spans: dict[str, Any]) -> None:
    got = _map(spans["openai.responses.create"])
    assert json.loads(got["gen_ai.system_instructions"])[0]["content"] == "Be kind."
    assert json.loads(got["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "text", "content": "Echo: hello there"}
    ]
    assert got["gen_ai.response.finish_reasons"] == ("stop",)


def test_cache_tokens_under_current_and_older_names(spans: dict[str, Any]) -> None:
    got = _map(spans["cached_call"])
    assert got["gen_ai.usage.input_tokens"] == 130  # cached input tokens included
    assert got["gen_ai.usage.cache_read.input_tokens"] == 100
    assert got["gen_ai.usage.cache_read_input_tokens"] == 100
    assert got["gen_ai.usage.cache_creation.input_tokens"] == 20
    assert got["gen_ai.usage.cache_creation_input_tokens"] == 20
    assert got["gen_ai.request.model"] == "claude-c"
    assert got["gen_ai.response.model"] == "claude-c-1"


def test_operations_by_span_type(spans: dict[str, Any]) -> None:
    assert _map(spans["agent"]) == {"gen_ai.operation.name": "invoke_agent"}
    assert _map(spans["search_docs"])["gen_ai.operation.name"] == "retrieval"
    tool = _map(spans["get_weather"])
    assert tool["gen_ai.operation.name"] == "execute_tool"
    assert tool["gen_ai.tool.name"] == "get_weather"
    assert tool["gen_ai.tool.description"] == "Weather in a city"
    assert genai_attributes("CHAIN", {}, "x", "y") == {}
    assert genai_attributes("LLM", {}, {"prompts": ["p"]}, "c")["gen_ai.operation.name"] == (
        "text_completion"
    )
    embedding = genai_attributes("EMBEDDING", {"mlflow.llm.model": "emb-1"}, {"input": "x"}, [])
    assert embedding["gen_ai.operation.name"] == "embeddings"
    assert embedding["gen_ai.request.model"] == "emb-1"


def test_semconv_names_are_validated() -> None:
    assert parse_semconv(None) == ALL
    assert parse_semconv("all") == ALL
    assert parse_semconv(["GenAI", "mlflow"]) == {"gen_ai", "mlflow"}
    with pytest.raises(ValueError, match="unknown semconv 'otel'"):
        OTLP("http://127.0.0.1:9/v1/traces", semconv=("openinference", "otel"))
    with pytest.raises(ValueError, match="selects nothing"):
        parse_semconv([])
    with pytest.raises(TypeError):
        parse_semconv([1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="takes no semconv"):
        MlflowExperiment("0", "http://127.0.0.1:9", semconv="gen_ai")
    assert OTLP("http://127.0.0.1:9/v1/traces").semconv == ALL


def test_the_wire_carries_genai_keys_only(llm_server: LLMServer) -> None:
    with receiving() as receiver:
        mlflow.set_destination(["memory", OTLP(receiver.endpoint, semconv=["gen_ai"])])
        count = run_workload(llm_server.openai_base_url, llm_server.anthropic_base_url)
        assert mlflow.flush()
        spans = receiver.attributes(count=count)
    assert len(spans) == count
    for attributes in spans.values():
        assert not [
            k
            for k in attributes
            if k.startswith(("mlflow.", "llm.", "openinference.", "input.", "output."))
        ]
    chat = spans["openai.chat.completions.create"]
    assert chat["gen_ai.operation.name"] == "chat"
    assert chat["gen_ai.response.finish_reasons"] == ("tool_calls",)  # an OTel string array
    assert isinstance(chat["gen_ai.usage.input_tokens"], int)
    assert json.loads(chat["gen_ai.input.messages"])[1]["parts"][0]["content"] == (
        "Weather in Paris?"
    )
    cached = spans["cached_call"]
    assert cached["gen_ai.usage.cache_creation.input_tokens"] == 20
    assert cached["gen_ai.usage.cache_read_input_tokens"] == 100


def test_mlflow_receives_the_same_trace_with_every_key_set(
    mlflow_server: MlflowServer, llm_server: LLMServer
) -> None:
    """MLflow's ``/v1/traces`` stores what it stored before the extra keys: its own keys
    decide span types, inputs, outputs and token usage."""
    experiment = new_experiment(mlflow_server.uri)
    remote = MlflowExperiment(experiment, mlflow_server.uri)
    mlflow.set_destination(["memory", remote])
    run_workload(llm_server.openai_base_url, llm_server.anthropic_base_url)
    flushed = mlflow.flush(timeout=60)
    assert flushed, remote.stats()
    local = mlflow.get_last_active_trace()
    assert local is not None
    assert wait_for_count(mlflow_server.uri, experiment, 1) == 1
    [trace] = remote_traces(mlflow_server.uri, experiment, include_spans=True)
    theirs = {s.name: s for s in trace.data.spans}
    ours = {s.name: s for s in local.data.spans}
    assert set(theirs) == set(ours)
    for name, span in ours.items():
        assert theirs[name].span_type == span.span_type, name
        assert theirs[name].inputs == span.inputs, name
        assert theirs[name].outputs == span.outputs, name
    chat = theirs["cached_call"]
    assert chat.attributes["mlflow.chat.tokenUsage"]["input_tokens"] == 10
    assert chat.attributes["gen_ai.usage.cache_read.input_tokens"] == 100
    assert chat.attributes["llm.input_messages.0.message.content"] == "again"
