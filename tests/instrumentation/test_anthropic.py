"""instrument_anthropic(): the real ``anthropic`` SDK against the loopback server."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import anthropic
import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.entities import Span
from mlflow_trace_nb.instrumentation import anthropic as anthropic_integration
from mlflow_trace_nb.instrumentation import instrument_anthropic, uninstrument_anthropic
from mlflow_trace_nb.instrumentation._patching import Instrumentation
from mlflow_trace_nb.testing.llm_server import LLMServer
from tests.helpers import last_trace

MODEL = "claude-haiku-4-5"
MESSAGES = [{"role": "user", "content": "hello claude"}]
TOOL = {
    "name": "get_weather",
    "description": "Weather of a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
USAGE = "mlflow.chat.tokenUsage"

pytestmark = pytest.mark.usefixtures("anthropic_instrumented")


def only_span() -> Span:
    mlflow.flush()
    spans = last_trace().spans
    assert len(spans) == 1
    return spans[0]


def all_spans() -> list[Span]:
    mlflow.flush()
    return [s for t in mlflow.search_traces(return_type="list") for s in t.spans]


def test_create_is_a_chat_model_span_with_request_response_and_usage(
    anthropic_client: Any,
) -> None:
    message = anthropic_client.messages.create(
        model=MODEL, max_tokens=64, messages=MESSAGES, system="Be brief"
    )
    assert message.content[0].text == "Echo: hello claude"
    span = only_span()
    assert span.name == "anthropic.messages.create" and span.span_type == "CHAT_MODEL"
    assert span.status_code == "OK"
    assert span.inputs == {
        "model": MODEL,
        "max_tokens": 64,
        "messages": MESSAGES,
        "system": "Be brief",
    }
    assert span.outputs["content"][0]["text"] == "Echo: hello claude"
    assert span.attributes[USAGE] == {"input_tokens": 4, "output_tokens": 3, "total_tokens": 7}
    assert span.attributes["mlflow.llm.model"] == MODEL
    assert span.attributes["mlflow.llm.provider"] == "anthropic"
    assert span.attributes["mlflow.message.format"] == "anthropic"


def test_tool_use_records_the_tools_in_the_common_form_and_the_tool_call(
    anthropic_client: Any,
) -> None:
    message = anthropic_client.messages.create(
        model=MODEL, max_tokens=64, messages=MESSAGES, tools=[TOOL]
    )
    assert message.stop_reason == "tool_use"
    span = only_span()
    assert span.attributes["mlflow.chat.tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather of a city",
                "parameters": TOOL["input_schema"],
            },
        }
    ]
    assert span.outputs["content"][1]["input"] == {"city": "claude"}

    history = [
        *MESSAGES,
        {"role": "assistant", "content": message.content},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_test0001", "content": "9C"}],
        },
    ]
    final = anthropic_client.messages.create(
        model=MODEL, max_tokens=64, messages=history, tools=[TOOL]
    )
    assert final.stop_reason == "end_turn"
    assert only_span().outputs["stop_reason"] == "end_turn"


def test_create_stream_true_records_the_assembled_message(anthropic_client: Any) -> None:
    stream = anthropic_client.messages.create(
        model=MODEL, max_tokens=64, messages=MESSAGES, tools=[TOOL], stream=True
    )
    assert isinstance(stream, anthropic.Stream)
    kinds = [event.type for event in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    span = only_span()
    assert span.outputs["content"] == [
        {"type": "text", "text": "Let me check."},
        {
            "type": "tool_use",
            "id": "toolu_test0001",
            "name": "get_weather",
            "input": {"city": "claude"},
        },
    ]
    assert span.outputs["stop_reason"] == "tool_use"
    assert span.attributes[USAGE] == {"input_tokens": 2, "output_tokens": 8, "total_tokens": 10}


def test_the_stream_helper_with_text_stream(anthropic_client: Any) -> None:
    with anthropic_client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        assert stream.response.status_code == 200
        final = stream.get_final_message()
    assert text == "Echo: hello claude" == final.content[0].text
    span = only_span()
    assert span.name == "anthropic.messages.stream" and span.status_code == "OK"
    assert span.outputs["content"][0]["text"] == text
    assert span.attributes[USAGE]["output_tokens"] == 3


def test_get_final_text_ends_the_span_without_leaving_the_block(anthropic_client: Any) -> None:
    manager = anthropic_client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES)
    stream = manager.__enter__()
    assert stream.get_final_text() == "Echo: hello claude"
    assert only_span().outputs["content"][0]["text"] == "Echo: hello claude"
    manager.__exit__(None, None, None)


def test_a_stream_left_early_ends_its_span(anthropic_client: Any) -> None:
    with anthropic_client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                break
    span = only_span()
    assert span.status_code == "OK" and span.end_time_ns is not None
    assert span.outputs["content"][0]["text"] == "Echo:"

    stream = anthropic_client.messages.create(
        model=MODEL, max_tokens=64, messages=MESSAGES, stream=True
    )
    next(stream)
    del stream
    gc.collect()
    assert only_span().end_time_ns is not None


def test_async_create_stream_and_helper(async_anthropic_client: Any) -> None:
    async def main() -> str:
        await async_anthropic_client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
        stream = await async_anthropic_client.messages.create(
            model=MODEL, max_tokens=64, messages=MESSAGES, stream=True
        )
        async for _ in stream:
            pass
        async with async_anthropic_client.messages.stream(
            model=MODEL, max_tokens=64, messages=MESSAGES
        ) as helper:
            parts = [text async for text in helper.text_stream]
        return "".join(parts)

    assert asyncio.run(main()) == "Echo: hello claude"
    spans = all_spans()
    assert sorted(s.name for s in spans) == [
        "anthropic.messages.create",
        "anthropic.messages.create",
        "anthropic.messages.stream",
    ]
    for span in spans:
        assert span.status_code == "OK"
        assert span.outputs["content"][0]["text"] == "Echo: hello claude"
        assert span.attributes[USAGE]["total_tokens"] == 5


@pytest.mark.parametrize(
    ("model", "error"),
    [
        ("error-400", anthropic.BadRequestError),
        ("error-429", anthropic.RateLimitError),
        ("error-500", anthropic.InternalServerError),
    ],
)
def test_http_errors_end_the_span_as_error_and_reraise(
    anthropic_client: Any, model: str, error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        anthropic_client.messages.create(model=model, max_tokens=8, messages=MESSAGES)
    assert type(info.value) is error
    assert only_span().status_code == "ERROR"

    stream = anthropic_client.messages.stream(model=model, max_tokens=8, messages=MESSAGES)
    with pytest.raises(error), stream:
        pass
    span = only_span()
    assert span.name == "anthropic.messages.stream" and span.status_code == "ERROR"


def test_a_timeout_and_an_error_mid_stream(anthropic_client: Any) -> None:
    with pytest.raises(anthropic.APITimeoutError):
        anthropic_client.with_options(timeout=0.2).messages.create(
            model="slow", max_tokens=8, messages=MESSAGES
        )
    assert only_span().status_code == "ERROR"

    with pytest.raises(anthropic.APIStatusError):
        for _ in anthropic_client.messages.create(
            model="stream-error", max_tokens=8, messages=MESSAGES, stream=True
        ):
            pass
    assert only_span().status_code == "ERROR"


def test_calls_nest_under_the_users_span(anthropic_client: Any) -> None:
    with mlflow.start_span("agent", span_type="AGENT") as agent:
        anthropic_client.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)
        with anthropic_client.messages.stream(model=MODEL, max_tokens=8, messages=MESSAGES) as s:
            s.until_done()
    mlflow.flush()
    trace = last_trace()
    assert len(trace.spans) == 3
    assert all(s.parent_id == agent.span_id for s in trace.spans if s.name != "agent")


def test_twice_is_once_and_undo_stops_tracing(
    anthropic_client: Any, anthropic_instrumented: Instrumentation
) -> None:
    assert instrument_anthropic() is anthropic_instrumented
    anthropic_client.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)
    only_span()
    anthropic_instrumented.undo()
    assert uninstrument_anthropic() is False
    anthropic_client.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)
    with anthropic_client.messages.stream(model=MODEL, max_tokens=8, messages=MESSAGES) as s:
        s.until_done()
    assert len(all_spans()) == 1


def test_a_client_created_before_instrumenting_is_traced(llm_server: LLMServer) -> None:
    uninstrument_anthropic()
    client = anthropic.Anthropic(
        base_url=llm_server.anthropic_base_url, api_key="test", max_retries=0
    )
    instrument_anthropic()
    client.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)
    assert only_span().name == "anthropic.messages.create"


def test_broken_describe_or_finish_still_returns_the_vendor_result(
    anthropic_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("integration bug")

    uninstrument_anthropic()
    monkeypatch.setattr(anthropic_integration, "_describe_create", broken)
    monkeypatch.setattr(anthropic_integration, "_finish_stream", broken)
    instrument_anthropic()
    message = anthropic_client.messages.create(model=MODEL, max_tokens=8, messages=MESSAGES)
    assert message.content[0].text == "Echo: hello claude"
    assert all_spans() == []
    with anthropic_client.messages.stream(model=MODEL, max_tokens=8, messages=MESSAGES) as s:
        assert s.get_final_text() == "Echo: hello claude"
    assert only_span().status_code == "OK"
