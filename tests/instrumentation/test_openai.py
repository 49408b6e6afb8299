"""instrument_openai(): the real ``openai`` SDK against the loopback server."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
from typing import Any

import openai
import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.entities import Span
from mlflow_trace_nb.instrumentation import instrument_openai, uninstrument_openai
from mlflow_trace_nb.instrumentation import openai as openai_integration
from mlflow_trace_nb.instrumentation._patching import Instrumentation
from mlflow_trace_nb.testing.llm_server import LLMServer
from tests.helpers import last_trace

MESSAGES = [{"role": "user", "content": "what is tracing"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
USAGE = "mlflow.chat.tokenUsage"


def only_span() -> Span:
    mlflow.flush()
    spans = last_trace().spans
    assert len(spans) == 1
    return spans[0]


def all_spans() -> list[Span]:
    mlflow.flush()
    return [s for t in mlflow.search_traces(return_type="list") for s in t.spans]


pytestmark = pytest.mark.usefixtures("openai_instrumented")


def test_chat_completion_is_a_chat_model_span_with_request_response_and_usage(
    openai_client: Any,
) -> None:
    result = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, temperature=0.2
    )
    assert result.choices[0].message.content == "Echo: what is tracing"
    span = only_span()
    assert span.name == "openai.chat.completions.create"
    assert span.span_type == "CHAT_MODEL" and span.status_code == "OK"
    assert span.inputs == {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0.2}
    assert span.outputs["choices"][0]["message"]["content"] == "Echo: what is tracing"
    assert span.attributes[USAGE] == {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}
    assert span.attributes["mlflow.llm.model"] == "gpt-4o-mini-2024-07-18"
    assert span.attributes["mlflow.llm.provider"] == "openai"
    assert span.attributes["mlflow.message.format"] == "openai"


def test_a_client_created_before_instrumenting_is_traced(llm_server: LLMServer) -> None:
    uninstrument_openai()
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="test", max_retries=0)
    instrument_openai()
    client.embeddings.create(model="text-embedding-3-small", input="hi")
    assert only_span().name == "openai.embeddings.create"


def test_tools_are_recorded_and_the_tool_call_is_the_output(openai_client: Any) -> None:
    result = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS
    )
    assert result.choices[0].finish_reason == "tool_calls"
    span = only_span()
    assert span.attributes["mlflow.chat.tools"] == TOOLS
    call = span.outputs["choices"][0]["message"]["tool_calls"][0]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"tracing"}'}


def test_streamed_chat_records_the_assembled_message_and_usage(openai_client: Any) -> None:
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    assert isinstance(stream, openai.Stream)
    assert stream.response.status_code == 200  # vendor attributes reach the caller
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Echo: what is tracing"
    span = only_span()
    assert span.outputs["choices"][0]["message"] == {"role": "assistant", "content": text}
    assert span.outputs["choices"][0]["finish_reason"] == "stop"
    assert span.attributes[USAGE]["total_tokens"] == 7
    assert span.attributes["mlflow.llm.model"] == "gpt-4o-mini-2024-07-18"


def test_streamed_tool_call_arguments_are_joined(openai_client: Any) -> None:
    with openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, stream=True
    ) as stream:
        for _ in stream:
            pass
    message = only_span().outputs["choices"][0]["message"]
    assert message["tool_calls"] == [
        {
            "id": "call_test0001",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"tracing"}'},
        }
    ]


def test_the_stream_helper_is_traced_through_create(openai_client: Any) -> None:
    with openai_client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "Echo: what is tracing"
    span = only_span()
    assert span.outputs["choices"][0]["message"]["content"] == "Echo: what is tracing"
    assert "audio" not in span.inputs  # the helper's "not given" sentinels are left out


def test_a_stream_closed_early_ends_its_span_with_what_arrived(openai_client: Any) -> None:
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    first = next(stream)
    assert first.choices[0].delta.role == "assistant"
    next(stream)
    stream.close()
    span = only_span()
    assert span.status_code == "OK" and span.end_time_ns is not None
    assert span.outputs["choices"][0]["message"]["content"] == "Echo:"


def test_a_stream_never_read_ends_its_span_when_dropped(openai_client: Any) -> None:
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    del stream
    gc.collect()
    assert only_span().end_time_ns is not None


def test_async_chat_and_async_stream(async_openai_client: Any) -> None:
    async def main() -> str:
        result = await async_openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES
        )
        stream = await async_openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
        assert isinstance(stream, openai.AsyncStream)
        parts = [c.choices[0].delta.content or "" async for c in stream]
        assert "".join(parts) == result.choices[0].message.content
        async with async_openai_client.chat.completions.stream(
            model="gpt-4o-mini", messages=MESSAGES
        ) as helper:
            final = await helper.get_final_completion()
        return str(final.choices[0].message.content)

    assert asyncio.run(main()) == "Echo: what is tracing"
    spans = all_spans()
    assert len(spans) == 3
    for span in spans:
        assert span.span_type == "CHAT_MODEL" and span.status_code == "OK"
        assert span.outputs["choices"][0]["message"]["content"] == "Echo: what is tracing"


def test_responses_create_stream_and_helper(openai_client: Any) -> None:
    result = openai_client.responses.create(
        model="gpt-4.1", input="say hi", instructions="Be brief"
    )
    assert result.output_text == "Echo: say hi"
    span = only_span()
    assert span.name == "openai.responses.create" and span.span_type == "CHAT_MODEL"
    assert span.inputs == {"model": "gpt-4.1", "input": "say hi", "instructions": "Be brief"}
    assert span.outputs["output"][0]["content"][0]["text"] == "Echo: say hi"
    assert span.attributes[USAGE] == {"input_tokens": 4, "output_tokens": 3, "total_tokens": 7}

    for _ in openai_client.responses.create(model="gpt-4.1", input="say hi", stream=True):
        pass
    span = only_span()
    assert span.outputs["status"] == "completed"
    assert span.outputs["output"][0]["content"][0]["text"] == "Echo: say hi"
    assert span.attributes[USAGE]["total_tokens"] == 5

    with openai_client.responses.stream(model="gpt-4.1", input="say hi") as stream:
        assert stream.get_final_response().output_text == "Echo: say hi"
    assert only_span().outputs["output"][0]["content"][0]["text"] == "Echo: say hi"


def test_responses_function_tools_are_recorded_in_the_common_form(openai_client: Any) -> None:
    tool = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}
    openai_client.responses.create(model="gpt-4.1", input="find it", tools=[tool])
    span = only_span()
    assert span.attributes["mlflow.chat.tools"] == [
        {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    ]
    assert span.outputs["output"][0]["type"] == "function_call"


def test_async_responses_and_embeddings(async_openai_client: Any) -> None:
    async def main() -> None:
        await async_openai_client.responses.create(model="gpt-4.1", input="a")
        stream = await async_openai_client.responses.create(model="gpt-4.1", input="a", stream=True)
        async for _ in stream:
            pass
        await async_openai_client.embeddings.create(model="text-embedding-3-small", input="a")

    asyncio.run(main())
    spans = sorted(all_spans(), key=lambda s: s.start_time_ns)
    assert [s.name for s in spans] == [
        "openai.responses.create",
        "openai.responses.create",
        "openai.embeddings.create",
    ]
    assert spans[1].outputs["output"][0]["content"][0]["text"] == "Echo: a"


def test_embeddings_are_an_embedding_span(openai_client: Any) -> None:
    result = openai_client.embeddings.create(model="text-embedding-3-small", input=["a b", "c"])
    assert len(result.data) == 2
    span = only_span()
    assert span.span_type == "EMBEDDING"
    assert span.inputs == {"model": "text-embedding-3-small", "input": ["a b", "c"]}
    assert len(span.outputs["data"]) == 2 and len(span.outputs["data"][0]["embedding"]) == 8
    assert span.attributes[USAGE] == {"input_tokens": 3, "output_tokens": 0, "total_tokens": 3}


def test_parse_is_traced(openai_client: Any) -> None:
    result = openai_client.chat.completions.parse(model="gpt-4o-mini", messages=MESSAGES)
    assert result.choices[0].message.content == "Echo: what is tracing"
    assert only_span().outputs["choices"][0]["message"]["content"] == "Echo: what is tracing"


@pytest.mark.parametrize(
    ("model", "error"),
    [
        ("error-400", openai.BadRequestError),
        ("error-429", openai.RateLimitError),
        ("error-500", openai.InternalServerError),
    ],
)
def test_http_errors_end_the_span_as_error_and_reraise(
    openai_client: Any, model: str, error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        openai_client.chat.completions.create(model=model, messages=MESSAGES)
    assert type(info.value) is error
    span = only_span()
    assert span.status_code == "ERROR"
    assert span.events[0].name == "exception"
    assert span.events[0].attributes["exception.type"].endswith(error.__name__)


def test_a_timeout_ends_the_span_as_error_and_reraises(openai_client: Any) -> None:
    client = openai_client.with_options(timeout=0.2)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="slow", messages=MESSAGES)
    assert only_span().status_code == "ERROR"


def test_an_error_mid_stream_ends_the_span_as_error(openai_client: Any) -> None:
    stream = openai_client.chat.completions.create(
        model="stream-error", messages=MESSAGES, stream=True
    )
    with pytest.raises(openai.APIError, match="HTTP 500"):
        for _ in stream:
            pass
    span = only_span()
    assert span.status_code == "ERROR"
    assert span.outputs["choices"][0]["message"]["content"] == "Echo:"


def test_calls_nest_under_the_users_span(openai_client: Any) -> None:
    @mlflow.trace(name="agent", span_type="AGENT")
    def agent(question: str) -> str:
        first = openai_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        stream = openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream)
        return f"{first.choices[0].message.content} / {text}"

    agent("q")
    mlflow.flush()
    trace = last_trace()
    assert trace.name == "agent" and len(trace.spans) == 3
    root = next(s for s in trace.spans if s.parent_id is None)
    assert root.name == "agent"
    children = [s for s in trace.spans if s.parent_id == root.span_id]
    assert len(children) == 2
    assert {s.name for s in children} == {"openai.chat.completions.create"}


def test_instrumenting_twice_gives_one_span_per_call(
    openai_client: Any, openai_instrumented: Instrumentation
) -> None:
    assert instrument_openai() is openai_instrumented
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    only_span()


def test_undo_stops_tracing(openai_client: Any, openai_instrumented: Instrumentation) -> None:
    openai_instrumented.undo()
    assert uninstrument_openai() is False
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    for _ in openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ):
        pass
    assert all_spans() == []
    instrument_openai()
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert uninstrument_openai() is True
    assert len(all_spans()) == 1


def test_raw_responses_still_work(openai_client: Any) -> None:
    raw = openai_client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES
    )
    assert raw.parse().choices[0].message.content == "Echo: what is tracing"
    assert only_span().status_code == "OK"


def test_broken_describe_or_finish_still_returns_the_vendor_result(
    openai_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("integration bug")

    uninstrument_openai()
    monkeypatch.setattr(openai_integration, "_describe_chat", broken)
    monkeypatch.setattr(openai_integration, "_finish_responses", broken)
    instrument_openai()
    result = openai_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert result.choices[0].message.content == "Echo: what is tracing"
    assert all_spans() == []
    response = openai_client.responses.create(model="gpt-4.1", input="hi")
    assert response.output_text == "Echo: hi"
    assert only_span().status_code == "OK"  # the span still ends
    events = list(openai_client.responses.create(model="gpt-4.1", input="hi", stream=True))
    assert events[-1].type == "response.completed"


def test_importing_the_package_does_not_import_openai() -> None:
    code = (
        "import sys, mlflow_trace_nb, mlflow_trace_nb.instrumentation;"
        "assert 'openai' not in sys.modules and 'anthropic' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
