"""instrument_langchain(): real langchain-core runnables, fake models, tools and retrievers."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.agents import AgentAction, AgentFinish
from langchain_core.callbacks import CallbackManagerForChainRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.language_models.fake_chat_models import (
    FakeListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, PromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda, RunnableParallel
from langchain_core.tools import tool

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.entities import Span, Trace
from mlflow_trace_nb.instrumentation import (
    _langchain_convert,
    instrument_langchain,
    uninstrument_langchain,
)
from mlflow_trace_nb.instrumentation._patching import is_active
from mlflow_trace_nb.tracing.provider import SpanType
from tests.helpers import by_name, last_trace


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    instrument_langchain()
    yield
    uninstrument_langchain()


def _chat_model(*texts: str, **usage: int) -> GenericFakeChatModel:
    metadata = dict(usage, total_tokens=sum(usage.values())) if usage else None
    messages = [AIMessage(content=text, usage_metadata=metadata) for text in texts]  # type: ignore[arg-type]
    return GenericFakeChatModel(messages=iter(messages))


def _chain(model: Any) -> Any:
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{question}")])
    return prompt | model | StrOutputParser()


def _parent(trace: Trace, span: Span) -> str | None:
    names = {s.span_id: s.name for s in trace.spans}
    return names.get(span.parent_id) if span.parent_id else None


def _tree(trace: Trace) -> set[tuple[str, str | None]]:
    return {(span.name, _parent(trace, span)) for span in trace.spans}


class KeywordRetriever(BaseRetriever):
    """Returns the documents that contain a word of the query."""

    documents: list[Document]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        words = set(query.lower().split())
        return [d for d in self.documents if words & set(d.page_content.lower().split())]


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


@tool
def explode(text: str) -> str:
    """Always fails."""
    raise ValueError(f"cannot handle {text}")


# Chains and chat models ------------------------------------------------------------------
def test_chain_nests_under_user_trace_with_chat_model_details() -> None:
    chain = _chain(_chat_model("Paris.", input_tokens=7, output_tokens=2))

    @mlflow.trace
    def answer(question: str) -> str:
        return str(chain.invoke({"question": question}))

    assert answer("Capital of France?") == "Paris."
    trace = last_trace()
    assert _tree(trace) == {
        ("answer", None),
        ("RunnableSequence", "answer"),
        ("ChatPromptTemplate", "RunnableSequence"),
        ("GenericFakeChatModel", "RunnableSequence"),
        ("StrOutputParser", "RunnableSequence"),
    }
    spans = by_name(trace)
    assert spans["RunnableSequence"].span_type == SpanType.CHAIN
    assert spans["RunnableSequence"].inputs == {"question": "Capital of France?"}
    assert spans["RunnableSequence"].outputs == "Paris."
    chat = spans["GenericFakeChatModel"]
    assert chat.span_type == SpanType.CHAT_MODEL
    assert chat.inputs == {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"},
        ]
    }
    assert chat.outputs == {"role": "assistant", "content": "Paris."}
    assert chat.attributes["mlflow.chat.tokenUsage"] == {
        "input_tokens": 7,
        "output_tokens": 2,
        "total_tokens": 9,
    }
    assert chat.attributes["mlflow.llm.provider"] == "langchain"
    assert all(span.status == "OK" for span in trace.spans)


def test_top_level_run_without_user_span_is_its_own_trace() -> None:
    chain = _chain(_chat_model("ok"))
    chain.invoke({"question": "q"})
    trace = last_trace()
    assert trace.data.root is not None and trace.data.root.name == "RunnableSequence"
    assert len(trace.spans) == 4


def test_run_name_from_config_names_the_span() -> None:
    chain = _chain(_chat_model("ok"))
    chain.invoke({"question": "q"}, config={"run_name": "my_qa_chain"})
    assert last_trace().data.root.name == "my_qa_chain"  # type: ignore[union-attr]


def test_chat_model_tools_and_tool_calls() -> None:
    reply = AIMessage(
        content="",
        tool_calls=[{"name": "multiply", "args": {"a": 6, "b": 7}, "id": "call_1"}],
    )
    model = GenericFakeChatModel(messages=iter([reply]))
    bound = model.bind(tools=[multiply])
    bound.invoke([HumanMessage(content="6 times 7?")])
    chat = by_name(last_trace())["GenericFakeChatModel"]
    tools = chat.attributes["mlflow.chat.tools"]
    assert tools[0]["function"]["name"] == "multiply"
    assert set(tools[0]["function"]["parameters"]["properties"]) == {"a", "b"}
    assert "tools" not in chat.attributes.get("invocation_params", {})
    call = chat.outputs["tool_calls"][0]
    assert call["function"]["name"] == "multiply"
    assert json.loads(call["function"]["arguments"]) == {"a": 6, "b": 7}


def test_llm_span() -> None:
    llm = FakeListLLM(responses=["a haiku"])
    chain = PromptTemplate.from_template("Write about {topic}") | llm
    assert chain.invoke({"topic": "tracing"}) == "a haiku"
    spans = by_name(last_trace())
    assert spans["FakeListLLM"].span_type == SpanType.LLM
    assert spans["FakeListLLM"].inputs == {"prompts": ["Write about tracing"]}
    assert spans["FakeListLLM"].outputs == "a haiku"


def test_stream_records_final_input_and_output() -> None:
    chain = _chain(_chat_model("hello there friend"))
    with mlflow.start_span("outer"):
        chunks = list(chain.stream({"question": "hi"}))
    assert "".join(chunks) == "hello there friend"
    trace = last_trace()
    spans = by_name(trace)
    assert _parent(trace, spans["RunnableSequence"]) == "outer"
    assert spans["RunnableSequence"].inputs == {"question": "hi"}
    assert spans["RunnableSequence"].outputs == "hello there friend"
    assert spans["GenericFakeChatModel"].outputs["content"] == "hello there friend"
    assert spans["StrOutputParser"].outputs == "hello there friend"


def test_user_trace_inside_lambda_nests_under_the_lambda_span() -> None:
    @mlflow.trace
    def shout(text: str) -> str:
        return text.upper()

    chain = RunnableLambda(lambda x: x + "!", name="exclaim") | RunnableLambda(
        shout, name="shouter"
    )
    assert chain.invoke("hi") == "HI!"
    trace = last_trace()
    assert ("shout", "shouter") in _tree(trace)
    assert ("shouter", "RunnableSequence") in _tree(trace)


def test_parallel_branches_and_batch_nest_across_threads() -> None:
    branches = RunnableParallel(
        upper=RunnableLambda(lambda x: x.upper(), name="upper"),
        lower=RunnableLambda(lambda x: x.lower(), name="lower"),
    )
    with mlflow.start_span("outer"):
        assert branches.invoke("Hi") == {"upper": "HI", "lower": "hi"}
        assert RunnableLambda(lambda x: x * 2, name="double").batch([1, 2, 3]) == [2, 4, 6]
    trace = last_trace()
    tree = _tree(trace)
    assert ("upper", "RunnableParallel<upper,lower>") in tree
    assert ("lower", "RunnableParallel<upper,lower>") in tree
    assert ("RunnableParallel<upper,lower>", "outer") in tree
    doubles = [s for s in trace.spans if s.name == "double"]
    assert len(doubles) == 3 and all(_parent(trace, s) == "outer" for s in doubles)


# Retrievers, tools, agents ---------------------------------------------------------------
def test_retriever_span_outputs_documents() -> None:
    retriever = KeywordRetriever(
        documents=[
            Document(page_content="MLflow traces spans", metadata={"source": "a"}),
            Document(page_content="Cooking pasta", metadata={"source": "b"}),
        ]
    )
    docs = retriever.invoke("what are traces")
    assert len(docs) == 1
    span = by_name(last_trace())["KeywordRetriever"]
    assert span.span_type == SpanType.RETRIEVER
    assert span.inputs == {"query": "what are traces"}
    assert span.outputs == [
        {"page_content": "MLflow traces spans", "metadata": {"source": "a"}, "id": None}
    ]


def test_tool_span() -> None:
    assert multiply.invoke({"a": 3, "b": 4}) == 12
    span = by_name(last_trace())["multiply"]
    assert span.span_type == SpanType.TOOL
    assert span.inputs == {"a": 3, "b": 4}
    assert span.outputs == 12
    assert span.attributes["description"] == "Multiply two integers."


def test_tool_call_returns_tool_message_as_dict() -> None:
    call = {"name": "multiply", "args": {"a": 2, "b": 5}, "id": "c1", "type": "tool_call"}
    message = multiply.invoke(call)
    assert isinstance(message, ToolMessage)
    span = by_name(last_trace())["multiply"]
    assert span.outputs == {
        "role": "tool",
        "content": "10",
        "name": "multiply",
        "tool_call_id": "c1",
    }


def test_agent_loop_records_actions_as_events() -> None:
    model = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage(
                    content="",
                    tool_calls=[{"name": "multiply", "args": {"a": 6, "b": 7}, "id": "t1"}],
                ),
                AIMessage(content="The answer is 42."),
            ]
        )
    )

    def agent(question: str, run_manager: CallbackManagerForChainRun) -> str:
        messages: list[Any] = [HumanMessage(content=question)]
        while True:
            reply = model.invoke(messages, config={"callbacks": run_manager.get_child()})
            messages.append(reply)
            if not reply.tool_calls:
                run_manager.on_agent_finish(AgentFinish({"output": reply.content}, "done"))
                return str(reply.content)
            for call in reply.tool_calls:
                run_manager.on_agent_action(AgentAction(call["name"], call["args"], "calling"))
                result = multiply.invoke(call, config={"callbacks": run_manager.get_child()})
                messages.append(result)

    @mlflow.trace(span_type=SpanType.AGENT)
    def run_agent(question: str) -> str:
        return str(RunnableLambda(agent, name="agent_loop").invoke(question))

    assert run_agent("6 times 7?") == "The answer is 42."
    trace = last_trace()
    loop = next(s for s in trace.spans if s.name == "agent_loop")
    assert _parent(trace, loop) == "run_agent"
    children = [s.name for s in trace.spans if _parent(trace, s) == "agent_loop"]
    assert children == ["GenericFakeChatModel", "multiply", "GenericFakeChatModel"]
    events = {e.name: e.attributes for e in loop.events}
    assert events["agent_action"]["tool"] == "multiply"
    assert json.loads(events["agent_action"]["tool_input"]) == {"a": 6, "b": 7}
    assert json.loads(events["agent_finish"]["return_values"]) == {"output": "The answer is 42."}
    second_chat = [s for s in trace.spans if s.name == "GenericFakeChatModel"][1]
    assert [m["role"] for m in second_chat.inputs["messages"]] == ["user", "assistant", "tool"]


# Errors ---------------------------------------------------------------------------------
def test_errors_become_error_spans_and_propagate() -> None:
    def fail(_: Any) -> str:
        raise RuntimeError("boom")

    chain = RunnableLambda(lambda x: x, name="first") | RunnableLambda(fail, name="failing")
    with pytest.raises(RuntimeError, match="boom"):
        chain.invoke("x")
    spans = by_name(last_trace())
    assert spans["failing"].status == "ERROR"
    assert spans["RunnableSequence"].status == "ERROR"
    assert spans["first"].status == "OK"
    event = spans["failing"].events[0]
    assert event.name == "exception"
    assert event.attributes["exception.type"].endswith("RuntimeError")


def test_tool_and_chat_model_errors() -> None:
    with pytest.raises(ValueError, match="cannot handle"):
        explode.invoke({"text": "x"})
    assert by_name(last_trace())["explode"].status == "ERROR"
    model = FakeListChatModel(responses=["a"], error_on_chunk_number=0)
    with pytest.raises(Exception):  # noqa: B017 - the fake's own error type
        list(model.stream("hi"))
    assert by_name(last_trace())["FakeListChatModel"].status == "ERROR"


def test_failing_handler_does_not_break_the_chain(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("our bug")

    caplog.set_level(logging.DEBUG, logger="mlflow_trace_nb")
    monkeypatch.setattr(_langchain_convert, "message_dict", broken)
    monkeypatch.setattr(_langchain_convert, "plain", broken)
    chain = _chain(_chat_model("still works", "async too"))
    assert chain.invoke({"question": "q"}) == "still works"
    assert asyncio.run(chain.ainvoke({"question": "q"})) == "async too"
    assert "LangChain callback on_chat_model_start" in caplog.text


# Async ----------------------------------------------------------------------------------
def test_ainvoke_nests_and_restores_the_active_span() -> None:
    chain = _chain(_chat_model("one", "two"))

    async def main() -> list[str]:
        with mlflow.start_span("outer"):
            first = await chain.ainvoke({"question": "a"})
            with mlflow.start_span("between"):
                pass
            second = await chain.ainvoke({"question": "b"})
        return [first, second]

    assert asyncio.run(main()) == ["one", "two"]
    trace = last_trace()
    sequences = [s for s in trace.spans if s.name == "RunnableSequence"]
    assert len(sequences) == 2 and all(_parent(trace, s) == "outer" for s in sequences)
    assert ("between", "outer") in _tree(trace)
    models = [s for s in trace.spans if s.name == "GenericFakeChatModel"]
    assert {_parent(trace, s) for s in models} == {"RunnableSequence"}
    assert {m.span_id for m in models} != set()
    assert {m.parent_id for m in models} == {s.span_id for s in sequences}


def test_astream_and_async_tool() -> None:
    chain = _chain(_chat_model("streamed answer"))

    @tool
    async def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    async def main() -> tuple[str, int]:
        with mlflow.start_span("outer"):
            text = "".join([chunk async for chunk in chain.astream({"question": "s"})])
            total = await add.ainvoke({"a": 1, "b": 2})
        return text, total

    assert asyncio.run(main()) == ("streamed answer", 3)
    trace = last_trace()
    tree = _tree(trace)
    assert ("RunnableSequence", "outer") in tree
    assert ("add", "outer") in tree
    assert by_name(trace)["RunnableSequence"].outputs == "streamed answer"


def test_async_errors() -> None:
    async def fail(_: Any) -> None:
        raise KeyError("missing")

    async def main() -> None:
        await RunnableLambda(fail, name="afail").ainvoke(1)

    with pytest.raises(KeyError):
        asyncio.run(main())
    assert by_name(last_trace())["afail"].status == "ERROR"


# Idempotence, undo, laziness --------------------------------------------------------------
def test_twice_is_once() -> None:
    assert instrument_langchain() is instrument_langchain()
    _chain(_chat_model("x")).invoke({"question": "q"})
    assert len(last_trace().spans) == 4


def test_undo_stops_tracing() -> None:
    handle = instrument_langchain()
    handle.undo()
    assert not is_active("langchain")
    assert uninstrument_langchain() is False
    _chain(_chat_model("x")).invoke({"question": "q"})
    mlflow.flush()
    assert mlflow.get_last_active_trace() is None
    from langchain_core.callbacks.manager import CallbackManager

    assert "instrumentation" not in CallbackManager.configure.__func__.__module__
    instrument_langchain()
    _chain(_chat_model("y")).invoke({"question": "q"})
    assert len(last_trace().spans) == 4


def test_disabled_tracing_records_nothing() -> None:
    mlflow.tracing.disable()
    try:
        assert _chain(_chat_model("quiet")).invoke({"question": "q"}) == "quiet"
    finally:
        mlflow.tracing.enable()
    mlflow.flush()
    assert mlflow.get_last_active_trace() is None


def test_unsampled_trace_records_nothing() -> None:
    mlflow.tracing.configure(sampling_rate=0.0)
    with mlflow.start_span("outer"):
        assert _chain(_chat_model("quiet")).invoke({"question": "q"}) == "quiet"
    assert _chain(_chat_model("alone")).invoke({"question": "q"}) == "alone"
    mlflow.flush()
    assert mlflow.get_last_active_trace() is None


def test_importing_the_module_does_not_import_langchain() -> None:
    code = (
        "import sys, mlflow_trace_nb, mlflow_trace_nb.instrumentation.langchain;"
        "print('langchain_core' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# The reference's example (spec), with a fake LLM for OpenAI and LCEL for the removed LLMChain
def test_reference_example(capsys: pytest.CaptureFixture[str]) -> None:
    import mlflow_trace_nb as mlflow_ref

    mlflow_ref.tracing.instrument_langchain()
    mlflow_ref.tracing.enable()
    prompt_template = PromptTemplate(
        input_variables=["topic"], template="Write a short summary about {topic}"
    )
    llm = FakeListLLM(responses=["Machine learning learns patterns from data."])
    chain = prompt_template | llm  # LLMChain(llm=llm, prompt=prompt_template) in langchain<1
    with mlflow_ref.tracing.trace("langchain_summary_generation"):
        result = chain.invoke({"topic": "machine learning"})  # chain.run(topic=...) before
        print(f"Summary: {result}")
    assert capsys.readouterr().out == "Summary: Machine learning learns patterns from data.\n"
    trace = last_trace()
    assert _tree(trace) == {
        ("langchain_summary_generation", None),
        ("RunnableSequence", "langchain_summary_generation"),
        ("PromptTemplate", "RunnableSequence"),
        ("FakeListLLM", "RunnableSequence"),
    }
    assert by_name(trace)["FakeListLLM"].inputs == {
        "prompts": ["Write a short summary about machine learning"]
    }
