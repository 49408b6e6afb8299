"""Raw responses (``with_raw_response`` / ``with_streaming_response``) recorded like plain calls.

Through these the SDK method returns the HTTP response wrapped in an ``APIResponse`` (OpenAI's
``LegacyAPIResponse`` too) instead of the parsed model; the caller calls ``parse()`` for the
model, or a stream for ``stream=True``. langchain-openai sends requests this way.

- A response whose body is already in memory and whose ``parse()`` is sync is parsed at once:
  the SDK caches the parsed object, so the caller's own ``parse()`` returns that very object,
  and the span records the output, usage and answered model as a plain call does, and ends.
- Any other (a stream, a body not read yet, an async ``parse()``) is handed back behind a
  proxy that records what the caller's ``parse()`` or ``json()`` returns, passes a parsed
  stream on as a traced stream (the span ends with it), and otherwise ends the span at the
  time the response arrived. A response never parsed ends its span, without outputs, when it
  is closed (leaving ``with_streaming_response``'s ``with`` block), collected or at exit.

The SDK builds ``with_raw_response`` objects once per resource (a ``cached_property``) with
the bound method it saw then. ``follow_methods`` puts data descriptors on those classes that
build the call from the resource's method as it is *now*, so a client that used
``with_raw_response`` before instrumenting is traced, and (with the handle check of
``_llm_common.sync_wrapper``) one taken while instrumented is untraced once undone.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from mlflow_trace_nb._internal.tracer.live_span import LiveSpan
from mlflow_trace_nb.errors import report_internal_error
from mlflow_trace_nb.instrumentation._patching import Instrumentation, end_span_safely
from mlflow_trace_nb.instrumentation._streams import _OPEN, _Base

__all__ = ["RawResponse", "finish_raw", "follow_methods", "is_raw_response"]

#: Writes a parsed result's outputs and attributes on the span (does not end it).
Record = Callable[[LiveSpan, Any], None]
#: A traced stream for a parsed stream (taking over the span), or None when not a stream.
WrapStream = Callable[[Any, LiveSpan], Any]


def is_raw_response(result: Any) -> bool:
    """Whether ``result`` is an SDK ``APIResponse`` (what ``with_raw_response`` returns)."""
    return hasattr(result, "http_response") and callable(getattr(result, "parse", None))


def finish_raw(span: LiveSpan, response: Any, record: Record, wrap_stream: WrapStream) -> Any:
    """Record ``response`` on ``span`` (see the module doc); returns what the caller gets."""
    if _parsed_now(response):
        try:
            record(span, response.parse())
        except Exception:
            report_internal_error("reading a raw response")
        end_span_safely(span)
        return response
    return RawResponse(response, span, record, wrap_stream)


def _parsed_now(response: Any) -> bool:
    stream = getattr(response, "_is_sse_stream", getattr(response, "_stream", True))
    return (
        not stream
        and hasattr(response.http_response, "_content")  # the body was read
        and not inspect.iscoroutinefunction(type(response).parse)
    )


class _NoRecorder:
    __slots__ = ()

    def add(self, item: Any) -> None:
        """Nothing: a raw response yields no items."""

    def record(self, span: LiveSpan) -> None:
        """Nothing: ``parse()`` recorded the output already."""


class RawResponse(_Base):
    """A raw response whose span ends once it is parsed (or closed, collected, at exit)."""

    __slots__ = ("_arrived_ns", "_record", "_stream", "_wrap_stream")
    _arrived_ns: int
    _record: Record
    _stream: Any
    _wrap_stream: WrapStream

    def __init__(
        self, response: Any, span: LiveSpan, record: Record, wrap_stream: WrapStream
    ) -> None:
        super().__init__(response, span, _NoRecorder())
        init = object.__setattr__
        init(self, "_arrived_ns", time.time_ns())
        init(self, "_record", record)
        init(self, "_wrap_stream", wrap_stream)
        init(self, "_stream", None)

    def __getattr__(self, name: str) -> Any:
        value = getattr(object.__getattribute__(self, "_wrapped"), name)
        if name in ("parse", "json"):
            return self._recording(value, name == "parse")
        if name == "close":
            return self._closing(value)
        return value

    def _end(self, exc: BaseException | None = None) -> None:
        if self._ended:
            return
        object.__setattr__(self, "_ended", True)
        _OPEN.discard(self)
        end_span_safely(self._span, exc, self._arrived_ns)

    def _take(self, result: Any, kwargs: Mapping[str, Any], parsing: bool) -> Any:
        """Record what ``parse()``/``json()`` returned; a stream goes on traced."""
        if self._ended:
            stream = self._stream
            return stream if parsing and stream is not None and not kwargs else result
        try:
            stream = self._wrap_stream(result, self._span) if parsing else None
            if stream is not None:
                object.__setattr__(self, "_stream", stream)
                object.__setattr__(self, "_ended", True)  # the stream ends the span now
                _OPEN.discard(self)
                return stream
            self._record(self._span, result)
        except Exception:
            report_internal_error("recording a raw response")
        self._end()
        return result

    def _recording(self, method: Callable[..., Any], parsing: bool) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(method):

            async def call_async(*args: Any, **kwargs: Any) -> Any:
                return self._take(await method(*args, **kwargs), kwargs, parsing)

            return call_async

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._take(method(*args, **kwargs), kwargs, parsing)

        return call

    def _closing(self, method: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(method):

            async def close_async(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await method(*args, **kwargs)
                finally:
                    self._end()

            return close_async

        def close(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            finally:
                self._end()

        return close


# Following the resource's method -----------------------------------------------------------
class _Follow:
    """A data descriptor on a ``...WithRawResponse`` class: ``holder.method`` is built from
    the resource's ``method`` as it is now (the SDK's own, built once, is kept for undo)."""

    __slots__ = ("factory", "name")

    def __init__(self, name: str, factory: Callable[[Any], Any]) -> None:
        self.name = name
        self.factory = factory

    def __get__(self, holder: Any, owner: Any = None) -> Any:
        if holder is None:
            return self
        built = holder.__dict__.get(self.name)
        resource = getattr(getattr(built, "__wrapped__", None), "__self__", None)
        if resource is None:
            if built is None:
                raise AttributeError(self.name)
            return built
        return self.factory(getattr(resource, self.name))

    def __set__(self, holder: Any, value: Any) -> None:
        holder.__dict__[self.name] = value

    def __delete__(self, holder: Any) -> None:
        del holder.__dict__[self.name]


def follow_methods(
    handle: Instrumentation,
    resource_cls: type,
    methods: tuple[str, ...],
    factories: Mapping[str, Callable[[Any], Any]],
) -> None:
    """Make ``resource.with_raw_response.<method>`` (and ``with_streaming_response``) call
    the resource's current method, for every method of ``methods`` the resource has.

    ``factories`` maps the SDK's wrapper names (``to_raw_response_wrapper``,
    ``async_to_streamed_response_wrapper``...) to the functions; the holder classes are found
    beside the resource class (``Completions`` -> ``CompletionsWithRawResponse``)."""
    module = sys.modules[resource_cls.__module__]
    prefix = "async_" if resource_cls.__name__.startswith("Async") else ""
    for suffix, factory_name in (
        ("WithRawResponse", "to_raw_response_wrapper"),
        ("WithStreamingResponse", "to_streamed_response_wrapper"),
    ):
        holder = getattr(module, resource_cls.__name__ + suffix, None)
        factory = factories.get(prefix + factory_name)
        if not isinstance(holder, type) or factory is None:
            continue
        for method in methods:
            if callable(getattr(resource_cls, method, None)) and method not in holder.__dict__:
                handle.add(holder, method, _Follow(method, factory))
