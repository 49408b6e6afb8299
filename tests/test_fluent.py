"""The functions acting on the active span: the reference's annotation API."""

from __future__ import annotations

import asyncio

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb import keys
from mlflow_trace_nb.errors import MlflowException
from mlflow_trace_nb.tracing import SpanType
from tests.helpers import by_name, last_trace, set_attributes

TOOLS = [{"name": "calculator", "description": "math", "parameters": {"type": "object"}}]


def test_setters_act_on_the_active_span() -> None:
    with mlflow.tracing.trace("chat", SpanType.CHAT_MODEL):
        mlflow.tracing.set_span_chat_tools(TOOLS)
        mlflow.tracing.set_span_inputs({"messages": [{"role": "user", "content": "2+2?"}]})
        mlflow.tracing.set_span_attributes({"model_name": "gpt-4-turbo", "temperature": 0.7})
        mlflow.tracing.set_span_attribute("tokens_used", 150)
        mlflow.tracing.log_span_event("token", {"i": 1}, timestamp=123)
        mlflow.tracing.set_span_output({"response": "4"})
        mlflow.update_current_trace(tags={"user": "ana"}, metadata={"session": "s1"})
    trace = last_trace()
    span = trace.spans[0]
    assert set_attributes(span) == {
        keys.CHAT_TOOLS: TOOLS,
        "model_name": "gpt-4-turbo",
        "temperature": 0.7,
        "tokens_used": 150,
    }
    assert span.inputs == {"messages": [{"role": "user", "content": "2+2?"}]}
    assert span.outputs == {"response": "4"}
    assert [(e.name, e.timestamp_ns, e.attributes) for e in span.events] == [
        ("token", 123, {"i": 1})
    ]
    assert trace.tags == {"user": "ana", "mlflow.traceName": "chat"}
    assert trace.request_metadata == {"session": "s1"}


def test_without_an_active_span_setters_do_nothing() -> None:
    mlflow.tracing.set_span_attribute("k", "v")
    mlflow.tracing.set_span_output("x")
    mlflow.tracing.add_span_exception(ValueError("x"))
    mlflow.tracing.end_span()
    mlflow.update_current_trace(tags={"a": "b"})
    assert mlflow.get_current_active_span() is None
    assert mlflow.get_last_active_trace() is None


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(TypeError, match="tools must be a list"):
        mlflow.tracing.set_span_chat_tools("calculator")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tool #1 must be a dict"):
        mlflow.tracing.set_span_chat_tools([{"name": "a"}, "b"])
    with pytest.raises(TypeError, match="attributes must be a dict"):
        mlflow.tracing.set_span_attributes([("a", 1)])  # type: ignore[arg-type]


def test_add_span_exception_marks_error_without_raising() -> None:
    with mlflow.tracing.trace("op"):
        mlflow.tracing.add_span_exception(RuntimeError("soft failure"))
    span = last_trace().spans[0]
    assert span.status_code == "ERROR"
    assert span.status_message == "soft failure"
    assert span.events[0].attributes["exception.type"] == "RuntimeError"


def test_get_current_active_span_inside_decorated_function() -> None:
    seen = []

    @mlflow.trace(name="outer")
    def outer() -> None:
        span = mlflow.get_current_active_span()
        assert span is not None
        seen.append(span.name)
        with mlflow.start_span("inner") as inner:
            assert mlflow.get_current_active_span() is inner
        assert mlflow.get_current_active_span() is span

    outer()
    assert seen == ["outer"]
    spans = by_name(last_trace())
    assert spans["inner"].parent_id == spans["outer"].span_id


# MLflow 3's fluent functions ------------------------------------------------------------


def test_active_and_last_active_trace_ids() -> None:
    assert mlflow.get_active_trace_id() is None
    with mlflow.start_span("outer") as span:
        assert mlflow.get_active_trace_id() == span.trace_id
    assert mlflow.get_active_trace_id() is None
    assert mlflow.get_last_active_trace_id() == span.trace_id == last_trace().trace_id


def test_set_span_chat_tools_takes_mlflows_two_argument_form() -> None:
    with mlflow.start_span("chat", span_type=SpanType.CHAT_MODEL) as span:
        mlflow.set_span_chat_tools(span, TOOLS)
    with mlflow.start_span("chat-active"):
        mlflow.set_span_chat_tools(TOOLS)  # the one-argument form: the active span
    assert last_trace().spans[0].attributes[keys.CHAT_TOOLS] == TOOLS
    spans = mlflow.search_traces(return_type="list")
    assert [t.spans[0].attributes[keys.CHAT_TOOLS] for t in spans] == [TOOLS, TOOLS]
    with pytest.raises(TypeError, match="tools must be a list"):
        mlflow.set_span_chat_tools(span, "calculator")


def test_output_reducer_turns_yielded_items_into_the_output() -> None:
    @mlflow.trace(output_reducer=lambda chunks: "".join(chunks))
    def stream(n: int):
        yield from ("a", "b", "c")[:n]

    assert list(stream(3)) == ["a", "b", "c"]
    assert last_trace().spans[0].outputs == "abc"

    @mlflow.trace(output_reducer=len)
    async def astream():
        for item in (1, 2):
            yield item

    async def consume() -> list[int]:
        return [item async for item in astream()]

    assert asyncio.run(consume()) == [1, 2]
    assert last_trace().spans[0].outputs == 2


def test_output_reducer_is_for_generators_only_and_a_failing_one_keeps_the_items() -> None:
    with pytest.raises(MlflowException, match="only supported for generator functions"):

        @mlflow.trace(output_reducer=len)
        def plain() -> int:
            return 1

    @mlflow.trace(output_reducer=lambda items: 1 / 0)
    def stream():
        yield "x"

    assert list(stream()) == ["x"]  # the user's code is not affected
    assert last_trace().spans[0].outputs == ["x"]


def test_start_span_no_context_is_not_made_active() -> None:
    root = mlflow.start_span_no_context("root", inputs={"q": 1}, attributes={"k": "v"})
    assert mlflow.get_current_active_span() is None
    child = mlflow.start_span_no_context(
        "child", span_type=SpanType.TOOL, parent_span=root, start_time_ns=root.start_time_ns + 5
    )
    assert mlflow.get_current_active_span() is None
    child.end(outputs="done")
    root.end()
    spans = by_name(last_trace())
    assert spans["child"].parent_id == spans["root"].span_id
    assert spans["child"].span_type == "TOOL" and spans["child"].outputs == "done"
    assert spans["child"].start_time_ns == spans["root"].start_time_ns + 5
    assert spans["root"].inputs == {"q": 1} and set_attributes(spans["root"]) == {"k": "v"}


def test_set_and_delete_trace_tag_on_the_running_trace() -> None:
    with mlflow.start_span("tagged") as span:
        mlflow.set_trace_tag(span.trace_id, "team", "search")
        mlflow.set_trace_tag(span.trace_id, "gone", "soon")
        mlflow.delete_trace_tag(span.trace_id, "gone")
        with pytest.raises(MlflowException, match="Tag with key gone not found"):
            mlflow.delete_trace_tag(span.trace_id, "gone")
    assert last_trace().tags["team"] == "search"
    assert "gone" not in last_trace().tags
    mlflow.set_trace_tag(span.trace_id, "late", "x")  # the stored trace
    assert last_trace().tags["late"] == "x"
    mlflow.delete_trace_tag(span.trace_id, "late")
    assert "late" not in last_trace().tags
    with pytest.raises(MlflowException, match="not found"):
        mlflow.set_trace_tag("tr-" + "0" * 32, "k", "v")


def test_update_current_trace_takes_mlflow_3s_fields() -> None:
    with mlflow.start_span("request") as span:
        span.set_inputs({"question": "why?"})
        mlflow.update_current_trace(
            tags={"team": "a"},
            metadata={"source": "nb"},
            client_request_id="req-7",
            request_preview="why",
            session_id="s-1",
            user="ana",
            state="ERROR",
        )
        with pytest.raises(MlflowException, match="State must be either 'OK' or 'ERROR'"):
            mlflow.update_current_trace(state="IN_PROGRESS")
    mlflow.flush_trace_async_logging()
    info = last_trace().info
    assert info.client_request_id == "req-7" and info.request_preview == "why"
    assert info.response_preview is None  # the root span had no outputs
    assert info.trace_metadata == {
        "source": "nb",
        "mlflow.trace.session": "s-1",
        "mlflow.trace.user": "ana",
        # what MLflow 3 records for a trace whose root failed (no outputs)
        "mlflow.traceInputs": '{"question": "why?"}',
        "mlflow.traceOutputs": "",
        "mlflow.trace_schema.version": "3",
    }
    assert info.tags["team"] == "a" and info.state == "ERROR"
