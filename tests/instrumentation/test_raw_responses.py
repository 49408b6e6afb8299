"""``with_raw_response`` / ``with_streaming_response``: recorded like plain calls (output,
usage, the model that answered), whichever order the client and the instrumentation were made
in; the real ``openai`` and ``anthropic`` SDKs (and langchain-openai when installed) against
the loopback server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.entities import Span
from mlflow_trace_nb.instrumentation import (
    instrument_anthropic,
    instrument_openai,
    uninstrument_anthropic,
    uninstrument_openai,
)
from mlflow_trace_nb.testing.llm_server import LLMServer

MESSAGES = [{"role": "user", "content": "what is tracing"}]
ANSWER = "Echo: what is tracing"
USAGE = "mlflow.chat.tokenUsage"
MODEL = "mlflow.llm.model"
#: The loopback server answers with a dated snapshot of the requested OpenAI model.
ANSWERED = "gpt-4o-mini-2024-07-18"


def _spans() -> list[Span]:
    mlflow.flush()
    found = [s for t in mlflow.search_traces(return_type="list") for s in t.spans]
    return sorted(found, key=lambda s: s.start_time_ns)


def _only() -> Span:
    (span,) = _spans()
    return span


def _assert_chat_recorded(span: Span, usage: bool = True) -> None:
    assert span.name == "openai.chat.completions.create" and span.status_code == "OK"
    assert span.inputs == {"model": "gpt-4o-mini", "messages": MESSAGES, **span.inputs}
    assert "extra_headers" not in span.inputs
    assert span.outputs["choices"][0]["message"]["content"] == ANSWER
    assert span.outputs["model"] == ANSWERED
    assert span.attributes[MODEL] == ANSWERED
    if usage:
        assert span.attributes[USAGE] == {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}


@pytest.fixture
def openai_on(openai_instrumented: Any) -> None:
    """Instrumented for the test (undone after it)."""


# OpenAI -------------------------------------------------------------------------------------
def test_with_raw_response_then_parse_records_like_a_plain_call(
    openai_on: None, openai_client: Any
) -> None:
    # the path langchain-openai takes: with_raw_response.create(...), then .parse()
    raw = openai_client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES
    )
    assert raw.headers["content-type"].startswith("application/json")
    parsed = raw.parse()
    assert parsed.choices[0].message.content == ANSWER
    assert raw.parse() is parsed  # the SDK's cached object: nothing consumed for the caller
    _assert_chat_recorded(_only())


def test_client_level_with_raw_response_and_chat_parse(openai_on: None, openai_client: Any) -> None:
    raw = openai_client.with_raw_response.chat.completions.parse(
        model="gpt-4o-mini", messages=MESSAGES
    )
    assert raw.parse().choices[0].message.content == ANSWER
    _assert_chat_recorded(_only())


def test_with_raw_response_stream_is_traced_when_parsed(
    openai_on: None, openai_client: Any
) -> None:
    raw = openai_client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    assert _spans() == []  # open until the stream ends
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text == ANSWER
    _assert_chat_recorded(_only())


def test_with_streaming_response_records_parse_json_or_nothing(
    openai_on: None, openai_client: Any
) -> None:
    create = openai_client.chat.completions.with_streaming_response.create
    with create(model="gpt-4o-mini", messages=MESSAGES) as response:
        assert response.parse().choices[0].message.content == ANSWER
    with create(model="gpt-4o-mini", messages=MESSAGES) as response:
        assert response.json()["choices"][0]["message"]["content"] == ANSWER
    with create(model="gpt-4o-mini", messages=MESSAGES, stream=True) as response:
        assert len(list(response.parse())) > 1
    with create(model="gpt-4o-mini", messages=MESSAGES) as response:
        assert list(response.iter_lines())  # read by hand: nothing parsed to record
    parsed, as_json, streamed, by_hand = _spans()
    _assert_chat_recorded(parsed)
    _assert_chat_recorded(as_json)
    _assert_chat_recorded(streamed, usage=False)  # no include_usage: no usage chunk
    assert by_hand.status_code == "OK" and by_hand.outputs is None
    assert by_hand.attributes[MODEL] == "gpt-4o-mini"  # only the requested one is known


def test_async_raw_and_streaming_responses(openai_on: None, async_openai_client: Any) -> None:
    completions = async_openai_client.chat.completions

    async def main() -> None:
        raw = await completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
        assert raw.parse().choices[0].message.content == ANSWER
        async with completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=MESSAGES
        ) as response:
            assert (await response.parse()).choices[0].message.content == ANSWER
        raw = await completions.with_raw_response.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
        chunks = [chunk async for chunk in raw.parse()]
        assert len(chunks) > 1

    asyncio.run(main())
    first, second, third = _spans()
    _assert_chat_recorded(first)
    _assert_chat_recorded(second)
    _assert_chat_recorded(third, usage=False)


def test_raw_responses_and_embeddings_are_recorded(openai_on: None, openai_client: Any) -> None:
    raw = openai_client.responses.with_raw_response.create(model="gpt-4.1", input="say hi")
    assert raw.parse().output_text == "Echo: say hi"
    embedded = openai_client.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input="a"
    )
    assert len(embedded.parse().data) == 1
    response, embedding = _spans()
    assert response.name == "openai.responses.create"
    assert response.outputs["output"][0]["content"][0]["text"] == "Echo: say hi"
    assert response.attributes[USAGE]["total_tokens"] > 0
    assert embedding.name == "openai.embeddings.create"
    assert embedding.attributes[USAGE]["input_tokens"] > 0


def test_responses_stream_records_only_what_the_caller_passed(
    openai_on: None, openai_client: Any
) -> None:
    with openai_client.responses.stream(model="gpt-4.1", input="say hi") as stream:
        assert stream.get_final_response().output_text == "Echo: say hi"
    inputs = _only().inputs
    assert "extra_query" not in inputs and "extra_body" not in inputs
    assert inputs["model"] == "gpt-4.1" and inputs["input"] == "say hi"
    openai_client.responses.create(model="gpt-4.1", input="b", extra_body={"store": False})
    assert _spans()[-1].inputs["extra_body"] == {"store": False}  # given: recorded


# Clients made before or after instrumenting -------------------------------------------------
@pytest.mark.parametrize("streaming", [False, True])
def test_with_raw_response_used_before_instrumenting_is_traced_after(
    openai_client: Any, streaming: bool
) -> None:
    completions = openai_client.chat.completions
    holder = completions.with_streaming_response if streaming else completions.with_raw_response

    def call() -> None:
        if streaming:
            with holder.create(model="gpt-4o-mini", messages=MESSAGES) as response:
                response.parse()
        else:
            holder.create(model="gpt-4o-mini", messages=MESSAGES).parse()

    call()  # the SDK caches ``holder`` with the untraced method
    assert _spans() == []
    instrument_openai()
    try:
        call()
        _assert_chat_recorded(_only())
    finally:
        uninstrument_openai()
    call()
    assert len(_spans()) == 1


def test_with_raw_response_taken_while_instrumented_is_untraced_after(
    openai_client: Any, async_openai_client: Any
) -> None:
    request = {"model": "gpt-4o-mini", "messages": MESSAGES}

    async def main() -> None:  # one event loop: the async client's connections live in it
        instrument_openai()
        try:
            raw = openai_client.chat.completions.with_raw_response
            raw.create(**request).parse()
            async_raw = async_openai_client.chat.completions.with_raw_response
            await async_raw.create(**request)
            assert len(_spans()) == 2
        finally:
            uninstrument_openai()
        assert raw.create(**request).parse().choices
        await async_raw.create(**request)
        openai_client.chat.completions.create(**request)
        assert len(_spans()) == 2
        instrument_openai()  # and instrumenting again traces the same cached objects
        try:
            raw.create(**request).parse()
            await async_raw.create(**request)
            assert len(_spans()) == 4
        finally:
            uninstrument_openai()

    asyncio.run(main())


# Anthropic ----------------------------------------------------------------------------------
def test_anthropic_raw_responses_record_the_message(
    anthropic_client: Any, async_anthropic_client: Any
) -> None:
    early = anthropic_client.messages.with_raw_response  # cached before instrumenting
    request = {"model": "claude-test", "max_tokens": 50, "messages": MESSAGES}
    instrument_anthropic()
    try:
        assert early.create(**request).parse().content[0].text == ANSWER
        raw = anthropic_client.messages.with_raw_response.create(stream=True, **request)
        assert len(list(raw.parse())) > 1
        with anthropic_client.messages.with_streaming_response.create(**request) as response:
            assert response.parse().model == "claude-test"

        async def main() -> None:
            messages = async_anthropic_client.messages
            raw = await messages.with_raw_response.create(**request)
            assert (await raw.parse()).content[0].text == ANSWER

        asyncio.run(main())
    finally:
        uninstrument_anthropic()
    early.create(**request).parse()  # untraced again
    spans = _spans()
    assert len(spans) == 4
    for span in spans:
        assert span.name == "anthropic.messages.create" and span.status_code == "OK"
        assert span.attributes[MODEL] == "claude-test"
        assert span.attributes[USAGE]["input_tokens"] > 0
        content = span.outputs["content"][0]
        assert content["text"] == ANSWER


# langchain-openai ---------------------------------------------------------------------------
def test_chat_openai_with_response_headers_records_the_openai_span(
    openai_on: None, llm_server: LLMServer
) -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    model = langchain_openai.ChatOpenAI(
        model="gpt-4o-mini",
        base_url=llm_server.openai_base_url,
        api_key="test",
        max_retries=0,
        include_response_headers=True,  # every request through with_raw_response
    )
    assert model.invoke("what is tracing").content == ANSWER
    assert "".join(str(c.content) for c in model.stream("what is tracing")) == ANSWER
    plain, streamed = _spans()
    _assert_chat_recorded(plain)
    assert streamed.outputs["choices"][0]["message"]["content"] == ANSWER
    assert streamed.attributes[MODEL] == ANSWERED
