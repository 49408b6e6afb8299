"""``instrument_openai()``: every call of the ``openai`` SDK becomes a span.

Traced, at the class level (clients made before or after instrumenting alike), sync and async:

- ``chat.completions.create`` / ``.parse`` (and the ``.stream()`` helper, which calls
  ``create``): span ``openai.chat.completions.create``, type ``CHAT_MODEL``;
- ``responses.create`` / ``.parse`` (and ``.stream()``): span ``openai.responses.create``,
  type ``CHAT_MODEL``;
- ``embeddings.create``: span ``openai.embeddings.create``, type ``EMBEDDING``.

The same calls made through ``with_raw_response`` / ``with_streaming_response`` are traced
alike, with the parsed response as outputs (see ``_raw_responses``).

Inputs are the request's keyword arguments (``extra_headers`` left out); outputs are the
response (for a stream, the message assembled from its chunks, recorded when the stream is
consumed or closed). Attributes follow ``_schema``: provider and message format ``"openai"``,
the model the API answered with, token usage, and the tools offered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlflow_trace_nb._internal.tracer.live_span import LiveSpan
from mlflow_trace_nb.instrumentation import _openai_streams
from mlflow_trace_nb.instrumentation._llm_common import (
    field,
    finish_attributes,
    request_attributes,
    request_inputs,
    wrap_methods,
)
from mlflow_trace_nb.instrumentation._openai_streams import usage_of
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
from mlflow_trace_nb.instrumentation._streams import AsyncTracedStream, Recorder, TracedStream
from mlflow_trace_nb.tracing.provider import SpanType

__all__ = ["instrument"]

_PROVIDER = "openai"
_METHODS = ("create", "parse")
#: Filled at install time: the SDK's "not given" sentinels and stream classes.
_SKIP: tuple[type, ...] = ()
_SYNC_STREAM: tuple[type, ...] = ()
_ASYNC_STREAM: tuple[type, ...] = ()


def instrument() -> Instrumentation:
    """Patch the ``openai`` SDK (once per process); the handle's ``undo()`` removes it."""
    return activate(_PROVIDER, _install)


def _install(handle: Instrumentation) -> None:
    global _SKIP, _SYNC_STREAM, _ASYNC_STREAM
    import openai
    from openai.resources import embeddings
    from openai.resources.chat.completions import completions
    from openai.resources.responses import responses

    _SKIP = (openai.NotGiven, openai.Omit)
    _SYNC_STREAM = (openai.Stream,)
    _ASYNC_STREAM = (openai.AsyncStream,)
    targets = [
        (completions.Completions, completions.AsyncCompletions, _describe_chat, _finish_chat),
        (responses.Responses, responses.AsyncResponses, _describe_responses, _finish_responses),
        (embeddings.Embeddings, embeddings.AsyncEmbeddings, _describe_embeddings, _finish_plain),
    ]
    factories = _raw_factories()
    for sync_cls, async_cls, describe, finish in targets:
        wrap_methods(handle, sync_cls, async_cls, describe, finish)
        for cls in (sync_cls, async_cls):
            follow_methods(handle, cls, _METHODS, factories)


def _raw_factories() -> dict[str, Callable[[Any], Any]]:
    """The SDK's ``with_raw_response`` / ``with_streaming_response`` wrapper factories."""
    from openai import _legacy_response, _response

    names = ("to_raw_response_wrapper", "async_to_raw_response_wrapper")
    found = {name: getattr(_legacy_response, name, None) for name in names}
    for name in ("to_streamed_response_wrapper", "async_to_streamed_response_wrapper"):
        found[name] = getattr(_response, name, None)
    return {name: factory for name, factory in found.items() if callable(factory)}


# Requests ---------------------------------------------------------------------------------
def _describe(name: str, span_type: str, kwargs: dict[str, Any]) -> SpanRequest:
    inputs = request_inputs(kwargs, _SKIP)
    return SpanRequest(name, span_type, inputs, request_attributes(_PROVIDER, inputs))


def _describe_chat(args: tuple[Any, ...], kwargs: dict[str, Any]) -> SpanRequest:
    return _describe("openai.chat.completions.create", SpanType.CHAT_MODEL, kwargs)


def _describe_responses(args: tuple[Any, ...], kwargs: dict[str, Any]) -> SpanRequest:
    return _describe("openai.responses.create", SpanType.CHAT_MODEL, kwargs)


def _describe_embeddings(args: tuple[Any, ...], kwargs: dict[str, Any]) -> SpanRequest:
    return _describe("openai.embeddings.create", SpanType.EMBEDDING, kwargs)


# Results ----------------------------------------------------------------------------------
def _record(span: LiveSpan, result: Any) -> None:
    """Write a response (a model object, or the dict of a raw response's ``json()``)."""
    if hasattr(result, "model_dump"):
        span._outputs = result
    elif isinstance(result, dict):
        span.set_outputs(result)
    else:
        return
    finish_attributes(span, field(result, "model"), usage_of(field(result, "usage")))


def _stream_for(recorder: Callable[[], Recorder]) -> Callable[[Any, LiveSpan], Any]:
    def wrap(result: Any, span: LiveSpan) -> Any:
        if isinstance(result, _SYNC_STREAM):
            return TracedStream(result, span, recorder())
        if isinstance(result, _ASYNC_STREAM):
            return AsyncTracedStream(result, span, recorder())
        return None

    return wrap


def _no_stream(result: Any, span: LiveSpan) -> None:
    return None


_chat_stream = _stream_for(_openai_streams.ChatRecorder)
_responses_stream = _stream_for(_openai_streams.ResponsesRecorder)


def _finish(span: LiveSpan, result: Any, wrap_stream: Callable[[Any, LiveSpan], Any]) -> Any:
    if is_raw_response(result):  # with_raw_response / with_streaming_response
        return finish_raw(span, result, _record, wrap_stream)
    stream = wrap_stream(result, span)
    if stream is not None:
        return stream
    _record(span, result)
    end_span_safely(span)
    return result


def _finish_plain(span: LiveSpan, result: Any) -> Any:
    return _finish(span, result, _no_stream)


def _finish_chat(span: LiveSpan, result: Any) -> Any:
    return _finish(span, result, _chat_stream)


def _finish_responses(span: LiveSpan, result: Any) -> Any:
    return _finish(span, result, _responses_stream)
