"""``instrument_openai()``: every call of the ``openai`` SDK becomes a span.

Traced, at the class level (clients made before or after instrumenting alike), sync and async:

- ``chat.completions.create`` / ``.parse`` (and the ``.stream()`` helper, which calls
  ``create``): span ``openai.chat.completions.create``, type ``CHAT_MODEL``;
- ``responses.create`` / ``.parse`` (and ``.stream()``): span ``openai.responses.create``,
  type ``CHAT_MODEL``;
- ``embeddings.create``: span ``openai.embeddings.create``, type ``EMBEDDING``.

Inputs are the request's keyword arguments (``extra_headers`` left out); outputs are the
response (for a stream, the message assembled from its chunks, recorded when the stream is
consumed or closed). Attributes follow ``_schema``: provider and message format ``"openai"``,
the model the API answered with, token usage, and the tools offered.
"""

from __future__ import annotations

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
from mlflow_trace_nb.instrumentation._streams import AsyncTracedStream, TracedStream
from mlflow_trace_nb.tracing.provider import SpanType

__all__ = ["instrument"]

_PROVIDER = "openai"
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
    for sync_cls, async_cls, describe, finish in targets:
        wrap_methods(handle, sync_cls, async_cls, describe, finish)


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
def _finish_plain(span: LiveSpan, result: Any) -> Any:
    """Record a non-streamed response (a model object; anything else, such as a raw HTTP
    response from ``with_raw_response``, ends the span without outputs)."""
    if hasattr(result, "model_dump"):
        span._outputs = result
        finish_attributes(span, field(result, "model"), usage_of(field(result, "usage")))
    end_span_safely(span)
    return result


def _finish_chat(span: LiveSpan, result: Any) -> Any:
    if isinstance(result, _SYNC_STREAM):
        return TracedStream(result, span, _openai_streams.ChatRecorder())
    if isinstance(result, _ASYNC_STREAM):
        return AsyncTracedStream(result, span, _openai_streams.ChatRecorder())
    return _finish_plain(span, result)


def _finish_responses(span: LiveSpan, result: Any) -> Any:
    if isinstance(result, _SYNC_STREAM):
        return TracedStream(result, span, _openai_streams.ResponsesRecorder())
    if isinstance(result, _ASYNC_STREAM):
        return AsyncTracedStream(result, span, _openai_streams.ResponsesRecorder())
    return _finish_plain(span, result)
