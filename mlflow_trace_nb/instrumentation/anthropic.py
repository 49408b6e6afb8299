"""``instrument_anthropic()``: every ``anthropic`` messages call becomes a span.

Traced, at the class level (clients made before or after instrumenting alike), sync and async:

- ``messages.create`` (``stream=True`` too) and ``messages.parse``: span
  ``anthropic.messages.create``, type ``CHAT_MODEL``;
- ``messages.stream(...)`` (the helper used as ``with client.messages.stream(...) as s``):
  span ``anthropic.messages.stream``, ended when the stream is consumed (iteration,
  ``text_stream``, ``get_final_message()``/``get_final_text()``/``until_done()``), closed, or
  its ``with`` block is left.

``messages.with_raw_response.create`` / ``with_streaming_response.create`` are traced alike,
with the parsed message as outputs (see ``_raw_responses``).

Inputs are the request's keyword arguments (``extra_headers`` left out); outputs are the
message (for streams, the message assembled from the events). Attributes follow ``_schema``:
provider and message format ``"anthropic"``, model, token usage, and the tools offered (in
OpenAI's function-tool form, as everywhere in ``mlflow.chat.tools``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlflow_trace_nb._internal.tracer.live_span import LiveSpan
from mlflow_trace_nb.instrumentation._anthropic_streams import (
    EventRecorder,
    SnapshotRecorder,
    record_message,
)
from mlflow_trace_nb.instrumentation._llm_common import (
    request_attributes,
    request_inputs,
    sync_wrapper,
    wrap_methods,
)
from mlflow_trace_nb.instrumentation._patching import (
    Instrumentation,
    SpanRequest,
    activate,
    end_span_safely,
)
from mlflow_trace_nb.instrumentation._raw_responses import (
    finish_raw,
    follow_methods,
    is_raw_response,
)
from mlflow_trace_nb.instrumentation._streams import (
    AsyncTracedStream,
    AsyncTracedStreamManager,
    TracedStream,
    TracedStreamManager,
)
from mlflow_trace_nb.tracing.provider import SpanType

__all__ = ["instrument"]

_PROVIDER = "anthropic"
#: Methods of ``MessageStream`` that consume the stream inside the SDK: the span ends after.
_ENDING = ("get_final_message", "get_final_text", "until_done")
_ENDING_ITERATORS = ("text_stream",)
#: Filled at install time: the SDK's "not given" sentinels and stream classes.
_SKIP: tuple[type, ...] = ()
_SYNC_STREAM: tuple[type, ...] = ()
_ASYNC_STREAM: tuple[type, ...] = ()


def instrument() -> Instrumentation:
    """Patch the ``anthropic`` SDK (once per process); the handle's ``undo()`` removes it."""
    return activate(_PROVIDER, _install)


def _install(handle: Instrumentation) -> None:
    global _SKIP, _SYNC_STREAM, _ASYNC_STREAM
    import anthropic
    from anthropic.resources.messages import messages

    _SKIP = (anthropic.NotGiven, anthropic.Omit)
    _SYNC_STREAM = (anthropic.Stream,)
    _ASYNC_STREAM = (anthropic.AsyncStream,)
    wrap_methods(
        handle, messages.Messages, messages.AsyncMessages, _describe_create, _finish_create
    )
    factories = _raw_factories()
    for cls in (messages.Messages, messages.AsyncMessages):
        follow_methods(handle, cls, ("create", "parse"), factories)
    # ``stream()`` is a plain method in both classes: it returns a manager to enter.
    handle.wrap(messages.Messages, "stream", sync_wrapper(_describe_stream, _finish_stream, handle))
    handle.wrap(
        messages.AsyncMessages,
        "stream",
        sync_wrapper(_describe_stream, _finish_async_stream, handle),
    )


def _describe(name: str, kwargs: dict[str, Any]) -> SpanRequest:
    inputs = request_inputs(kwargs, _SKIP)
    return SpanRequest(name, SpanType.CHAT_MODEL, inputs, request_attributes(_PROVIDER, inputs))


def _describe_create(args: tuple[Any, ...], kwargs: dict[str, Any]) -> SpanRequest:
    return _describe("anthropic.messages.create", kwargs)


def _describe_stream(args: tuple[Any, ...], kwargs: dict[str, Any]) -> SpanRequest:
    return _describe("anthropic.messages.stream", kwargs)


def _raw_factories() -> dict[str, Callable[[Any], Any]]:
    """The SDK's ``with_raw_response`` / ``with_streaming_response`` wrapper factories."""
    from anthropic import _response

    names = (
        "to_raw_response_wrapper",
        "async_to_raw_response_wrapper",
        "to_streamed_response_wrapper",
        "async_to_streamed_response_wrapper",
    )
    found = {name: getattr(_response, name, None) for name in names}
    return {name: factory for name, factory in found.items() if callable(factory)}


def _record(span: LiveSpan, result: Any) -> None:
    if hasattr(result, "model_dump") or isinstance(result, dict):
        record_message(span, result)


def _event_stream(result: Any, span: LiveSpan) -> Any:
    if isinstance(result, _SYNC_STREAM):
        return TracedStream(result, span, EventRecorder())
    if isinstance(result, _ASYNC_STREAM):
        return AsyncTracedStream(result, span, EventRecorder())
    return None


def _finish_create(span: LiveSpan, result: Any) -> Any:
    if is_raw_response(result):  # with_raw_response / with_streaming_response
        return finish_raw(span, result, _record, _event_stream)
    stream = _event_stream(result, span)
    if stream is not None:
        return stream
    _record(span, result)
    end_span_safely(span)
    return result


def _finish_stream(span: LiveSpan, manager: Any) -> Any:
    def make_stream(stream: Any) -> TracedStream:
        recorder = SnapshotRecorder(stream)
        return TracedStream(stream, span, recorder, _ENDING, _ENDING_ITERATORS)

    return TracedStreamManager(manager, span, make_stream)


def _finish_async_stream(span: LiveSpan, manager: Any) -> Any:
    def make_stream(stream: Any) -> AsyncTracedStream:
        recorder = SnapshotRecorder(stream)
        return AsyncTracedStream(stream, span, recorder, _ENDING, _ENDING_ITERATORS)

    return AsyncTracedStreamManager(manager, span, make_stream)
