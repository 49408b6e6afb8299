"""The functions acting on the active span: the reference's annotation API."""

from __future__ import annotations

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.tracer.fluent import CHAT_TOOLS_ATTRIBUTE
from mlflow_trace_nb.tracing import SpanType
from tests.helpers import by_name, last_trace

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
    assert span.attributes == {
        CHAT_TOOLS_ATTRIBUTE: TOOLS,
        "model_name": "gpt-4-turbo",
        "temperature": 0.7,
        "tokens_used": 150,
    }
    assert span.inputs == {"messages": [{"role": "user", "content": "2+2?"}]}
    assert span.outputs == {"response": "4"}
    assert [(e.name, e.timestamp_ns, e.attributes) for e in span.events] == [
        ("token", 123, {"i": 1})
    ]
    assert trace.tags == {"user": "ana"}
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
