"""OpenInference keys from the shapes our instrumentations record (real openai/anthropic
clients against the loopback LLM server), as pure mapping and on the wire of a real OTLP
receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import tool

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.serialization import (
    MAX_COLLECTION_ITEMS,
    MAX_JSON_CHARS,
    MAX_STRING_CHARS,
)
from mlflow_trace_nb.exporters.semconv_openinference import openinference_attributes
from mlflow_trace_nb.exporters.semconv_select import ALL, semconv_attributes
from mlflow_trace_nb.instrumentation import _langchain_convert as convert
from mlflow_trace_nb.testing.llm_server import LLMServer, start_server
from mlflow_trace_nb.tracing.destination import OTLP
from tests.exporters._semconv_receiver import Receiver, receiving, recorded_spans, run_workload


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
    return openinference_attributes(
        span.span_type, span.attributes, span.inputs, span.outputs, name=span.name
    )


def test_openai_chat_messages_tools_and_parameters(spans: dict[str, Any]) -> None:
    got = _map(spans["openai.chat.completions.create"])
    assert got["openinference.span.kind"] == "LLM"
    assert got["llm.input_messages.0.message.role"] == "system"
    assert got["llm.input_messages.0.message.content"] == "Be brief."
    assert got["llm.input_messages.1.message.role"] == "user"
    assert got["llm.input_messages.1.message.content"] == "Weather in Paris?"
    out = "llm.output_messages.0.message."
    assert got[out + "role"] == "assistant"
    assert got[out + "tool_calls.0.tool_call.function.name"] == "get_weather"
    assert json.loads(got[out + "tool_calls.0.tool_call.function.arguments"]) == {"city": "Paris"}
    assert got[out + "tool_calls.0.tool_call.id"].startswith("call_")
    assert got["llm.finish_reason"] == "tool_calls"
    assert got["llm.tools.0.tool.name"] == "get_weather"
    schema = json.loads(got["llm.tools.0.tool.json_schema"])
    assert schema["function"]["parameters"]["properties"] == {"city": {"type": "string"}}
    params = json.loads(got["llm.invocation_parameters"])
    assert params == {"model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 64, "stop": ["END"]}
    assert got["llm.model_name"].startswith("gpt-4o-mini")
    assert got["llm.provider"] == got["llm.system"] == "openai"
    usage = spans["openai.chat.completions.create"].attributes["mlflow.chat.tokenUsage"]
    assert got["llm.token_count.prompt"] == usage["input_tokens"]
    assert got["llm.token_count.completion"] == usage["output_tokens"]
    assert got["llm.token_count.total"] == usage["total_tokens"]
    assert got["input.mime_type"] == got["output.mime_type"] == "application/json"
    assert json.loads(got["input.value"])["messages"][1]["content"] == "Weather in Paris?"


def test_openai_responses_api(spans: dict[str, Any]) -> None:
    got = _map(spans["openai.responses.create"])
    assert got["llm.input_messages.0.message.role"] == "system"
    assert got["llm.input_messages.0.message.content"] == "Be kind."
    assert got["llm.input_messages.1.message.content"] == "hello there"
    assert got["llm.output_messages.0.message.role"] == "assistant"
    assert got["llm.output_messages.0.message.content"] == "Echo: hello there"
    assert got["llm.finish_reason"] == "stop"


def test_anthropic_system_tool_use_and_tool_result(spans: dict[str, Any]) -> None:
    got = _map(spans["anthropic.messages.create"])
    assert got["llm.input_messages.0.message.role"] == "system"
    assert got["llm.input_messages.0.message.content"] == "You are terse."
    call = "llm.input_messages.2.message.tool_calls.0.tool_call."
    assert got["llm.input_messages.2.message.role"] == "assistant"
    assert got[call + "id"] == "toolu_1" and got[call + "function.name"] == "get_weather"
    assert got["llm.input_messages.3.message.role"] == "tool"
    assert got["llm.input_messages.3.message.tool_call_id"] == "toolu_1"
    assert got["llm.input_messages.3.message.content"] == "sunny"
    assert got["llm.output_messages.0.message.content"] == "The tool says: sunny"
    assert got["llm.finish_reason"] == "end_turn"
    assert got["llm.tools.0.tool.name"] == "get_weather"
    assert json.loads(got["llm.invocation_parameters"]) == {
        "model": "claude-test",
        "max_tokens": 50,
    }


def test_anthropic_cache_tokens_count_in_the_prompt(spans: dict[str, Any]) -> None:
    got = _map(spans["cached_call"])
    assert got["llm.token_count.prompt_details.cache_read"] == 100
    assert got["llm.token_count.prompt_details.cache_write"] == 20
    assert got["llm.token_count.prompt"] == 130  # Anthropic's input_tokens exclude the cache
    assert got["llm.token_count.completion"] == 4
    assert got["llm.token_count.total"] == 134


def test_retriever_documents_of_every_shape(spans: dict[str, Any]) -> None:
    got = _map(spans["search_docs"])
    assert got["openinference.span.kind"] == "RETRIEVER"
    doc = "retrieval.documents."
    assert got[doc + "0.document.content"] == "Paris is in France."
    assert got[doc + "0.document.id"] == "d1"
    assert got[doc + "0.document.score"] == 0.9
    assert json.loads(got[doc + "1.document.metadata"]) == {"src": "x"}
    assert got[doc + "1.document.score"] == 0.5
    plain_docs = [
        "a bare string",
        {"text": "t", "uri": "s3://x"},
        {"page_content": "p", "metadata": {"doc_uri": "file://y"}},
        {"no": "content"},
    ]
    got = openinference_attributes("RETRIEVER", {}, "q", {"documents": plain_docs})
    assert got[doc + "0.document.content"] == "a bare string"
    assert got[doc + "1.document.id"] == "s3://x"
    assert got[doc + "2.document.id"] == "file://y"
    assert doc + "3.document.content" not in got


def test_embedding_model_and_texts() -> None:
    got = openinference_attributes(
        "EMBEDDING", {"mlflow.llm.model": "emb-1"}, {"input": ["a", "b"], "model": "e"}, None
    )
    assert got["embedding.model_name"] == "emb-1"
    assert got["embedding.embeddings.1.embedding.text"] == "b"


def test_tool_span_name_and_description(spans: dict[str, Any]) -> None:
    got = _map(spans["get_weather"])
    assert got["openinference.span.kind"] == "TOOL"
    assert got["tool.name"] == "get_weather"
    assert got["tool.description"] == "Weather in a city"
    assert got["output.value"] == "rainy" and got["output.mime_type"] == "text/plain"


def test_langchain_messages_and_documents() -> None:
    """The shapes the LangChain handler records (its own converter over real objects)."""
    call = {"name": "add", "args": {"a": 1}, "id": "c1", "type": "tool_call"}
    history = [
        SystemMessage("sys"),
        HumanMessage(content=[{"type": "text", "text": "hi"}, {"type": "text", "text": "!"}]),
        AIMessage("", tool_calls=[call]),
        ToolMessage("2", tool_call_id="c1"),
    ]
    inputs = {"messages": [convert.message_dict(m) for m in history]}
    outputs = convert.message_dict(AIMessage("done"))
    got = openinference_attributes(
        "CHAT_MODEL", {"invocation_params": {"temperature": 0}}, inputs, outputs
    )
    assert got["llm.input_messages.0.message.role"] == "system"
    parts = "llm.input_messages.1.message.contents."
    assert got[parts + "0.message_content.type"] == "text"
    assert got[parts + "1.message_content.text"] == "!"
    assert got["llm.input_messages.2.message.tool_calls.0.tool_call.function.name"] == "add"
    assert got["llm.input_messages.3.message.role"] == "tool"
    assert got["llm.input_messages.3.message.tool_call_id"] == "c1"
    assert got["llm.output_messages.0.message.content"] == "done"
    assert json.loads(got["llm.invocation_parameters"]) == {"temperature": 0}
    docs = [convert.document_dict(Document(page_content="x", id="7", metadata={"k": 1}))]
    got = openinference_attributes("RETRIEVER", {}, {"query": "q"}, docs)
    assert got["retrieval.documents.0.document.id"] == "7"


def test_sizes_are_bounded_and_odd_shapes_do_not_raise() -> None:
    many = [{"role": "user", "content": "x" * (MAX_STRING_CHARS + 10)}] * (
        MAX_COLLECTION_ITEMS + 50
    )
    got = openinference_attributes("CHAT_MODEL", {}, {"messages": many}, None)
    roles = [k for k in got if k.endswith(".message.role")]
    assert len(roles) == MAX_COLLECTION_ITEMS
    texts = [len(v) for k, v in got.items() if k.endswith(".message.content")]
    assert max(texts) <= MAX_STRING_CHARS + 20
    # What the export does: the payload is bounded as a whole first (to_jsonable's budget).
    got = semconv_attributes("CHAT_MODEL", {}, {"messages": many}, None, ALL)
    texts = [len(v) for v in got.values() if isinstance(v, str)]
    assert max(texts) <= MAX_JSON_CHARS + 20
    # input.value and gen_ai.input.messages (each one JSON text) plus the flattened
    # messages (within to_jsonable's budget of twice MAX_JSON_CHARS)
    assert sum(texts) <= 5 * MAX_JSON_CHARS
    for odd in (
        None,
        3,
        "text",
        [None, 1, {"role": None}],
        {"messages": {"not": "a list"}},
        {"choices": [None, {"message": 5}]},
        {"output": [1, {"type": "x"}]},
    ):
        got = openinference_attributes("CHAT_MODEL", {"mlflow.chat.tokenUsage": "junk"}, odd, odd)
        assert got["openinference.span.kind"] == "LLM"


def _wire(receiver: Receiver, llm_server: LLMServer, semconv: Any = None) -> dict[str, Any]:
    options = {} if semconv is None else {"semconv": semconv}
    mlflow.set_destination(["memory", OTLP(receiver.endpoint, **options)])
    count = run_workload(llm_server.openai_base_url, llm_server.anthropic_base_url)
    assert mlflow.flush()
    return receiver.attributes(count=count)


def test_the_wire_carries_openinference_keys(llm_server: LLMServer) -> None:
    with receiving() as receiver:
        spans = _wire(receiver, llm_server)
    chat = spans["openai.chat.completions.create"]
    assert chat["llm.input_messages.1.message.content"] == "Weather in Paris?"
    assert chat["llm.tools.0.tool.name"] == "get_weather"
    assert chat["mlflow.spanType"] == '"CHAT_MODEL"'  # MLflow's keys stay, by default
    assert spans["search_docs"]["retrieval.documents.0.document.content"] == "Paris is in France."
    assert spans["get_weather"]["tool.name"] == "get_weather"
    assert spans["agent"]["openinference.span.kind"] == "AGENT"


def test_openinference_only_sends_no_mlflow_keys(llm_server: LLMServer) -> None:
    with receiving() as receiver:
        spans = _wire(receiver, llm_server, semconv="openinference")
    for attributes in spans.values():
        assert not [k for k in attributes if k.startswith(("mlflow.", "gen_ai."))]
    tool = spans["get_weather"]
    assert tool["description"] == "Weather in a city"  # the span's own keys still go
    assert spans["anthropic.messages.create"]["llm.input_messages.3.message.role"] == "tool"


class _KeywordRetriever(BaseRetriever):
    documents: list[Document]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [d for d in self.documents if set(query.split()) & set(d.page_content.split())]


def test_real_langchain_chain_retriever_and_tool() -> None:
    """A real langchain-core chain, retriever and tool under ``instrument_langchain()``."""
    from mlflow_trace_nb.instrumentation import instrument_langchain, uninstrument_langchain

    mlflow.set_destination("memory")
    model = GenericFakeChatModel(messages=iter([AIMessage("Paris.")]))
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{q}")])
    retriever = _KeywordRetriever(
        documents=[Document(page_content="Paris is in France", id="p", metadata={"s": 1})]
    )

    @tool
    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    instrument_langchain()
    try:
        with mlflow.start_span("root"):
            (prompt | model).invoke({"q": "Capital?"})
            retriever.invoke("Paris")
            multiply.invoke({"a": 2, "b": 3})
    finally:
        uninstrument_langchain()
    mlflow.flush()
    trace = mlflow.get_last_active_trace()
    assert trace is not None
    spans = {s.span_type: s for s in trace.data.spans}
    chat = _map(spans["CHAT_MODEL"])
    assert chat["llm.input_messages.0.message.role"] == "system"
    assert chat["llm.input_messages.1.message.content"] == "Capital?"
    assert chat["llm.output_messages.0.message.content"] == "Paris."
    docs = _map(spans["RETRIEVER"])
    assert docs["retrieval.documents.0.document.content"] == "Paris is in France"
    assert docs["retrieval.documents.0.document.id"] == "p"
    tool_span = _map(spans["TOOL"])
    assert tool_span["tool.name"] == "multiply"
    assert tool_span["tool.description"] == "Multiply two integers."
