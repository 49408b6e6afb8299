"""What the OpenAI and Anthropic integrations share: wrapper factories, the recorded request,
tool lists in one format, and the attributes written at the end of a call."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.tracer.live_span import LiveSpan
from mlflow_trace_nb.instrumentation._patching import (
    Describe,
    Finish,
    Instrumentation,
    traced_call,
    traced_call_async,
)

__all__ = [
    "field",
    "finish_attributes",
    "request_attributes",
    "request_inputs",
    "sync_wrapper",
    "async_wrapper",
    "wrap_methods",
]

#: Request keywords never recorded: headers may carry credentials.
_HIDDEN = frozenset({"extra_headers"})
#: Request keywords recorded only when not None: the SDKs' own helpers (``responses.stream``)
#: pass them on as None when the caller did not give them, which means "nothing".
_NONE_MEANS_ABSENT = frozenset({"extra_query", "extra_body"})


def sync_wrapper(
    describe: Describe, finish: Finish, handle: Instrumentation | None = None
) -> Callable[[Any], Any]:
    """A ``make_wrapper`` for ``Instrumentation.wrap`` tracing a sync method. Once ``handle``
    is undone, a wrapper the SDK kept (a ``with_raw_response`` taken while instrumented
    holds the method it saw then) calls the original untraced."""

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def traced(*args: Any, **kwargs: Any) -> Any:
            if handle is not None and not handle.active:
                return original(*args, **kwargs)
            return traced_call(original, args, kwargs, describe, finish)

        return traced

    return make


def async_wrapper(
    describe: Describe, finish: Finish, handle: Instrumentation | None = None
) -> Callable[[Any], Any]:
    """A ``make_wrapper`` for ``Instrumentation.wrap`` tracing a coroutine method (see
    ``sync_wrapper`` for ``handle``)."""

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        async def traced(*args: Any, **kwargs: Any) -> Any:
            if handle is not None and not handle.active:
                return await original(*args, **kwargs)
            return await traced_call_async(original, args, kwargs, describe, finish)

        return traced

    return make


def wrap_methods(
    handle: Instrumentation,
    sync_cls: Any,
    async_cls: Any,
    describe: Describe,
    finish: Finish,
    methods: tuple[str, ...] = ("create", "parse"),
) -> None:
    """Trace ``methods`` of a vendor resource's sync class and its async twin (those that
    exist in the installed SDK version)."""
    for method in methods:
        if callable(getattr(sync_cls, method, None)):
            handle.wrap(sync_cls, method, sync_wrapper(describe, finish, handle))
        if callable(getattr(async_cls, method, None)):
            handle.wrap(async_cls, method, async_wrapper(describe, finish, handle))


def request_inputs(kwargs: dict[str, Any], skip_types: tuple[type, ...]) -> dict[str, Any]:
    """The request as the span's inputs: the keyword arguments the caller gave, without the
    SDK's "not given" sentinels (``skip_types``), without ``extra_headers``, and without an
    ``extra_query``/``extra_body`` of None."""
    return {
        k: v
        for k, v in kwargs.items()
        if k not in _HIDDEN
        and not isinstance(v, skip_types)
        and not (v is None and k in _NONE_MEANS_ABSENT)
    }


def request_attributes(provider: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Provider, message format, requested model and offered tools of a chat request."""
    attributes: dict[str, Any] = {keys.PROVIDER: provider, keys.MESSAGE_FORMAT: provider}
    model = inputs.get("model")
    if model is not None:
        attributes[keys.MODEL] = str(model)
    tools = inputs.get("tools")
    if tools:
        attributes[keys.CHAT_TOOLS] = chat_tools(tools)
    return attributes


def chat_tools(tools: Any) -> list[Any]:
    """Tools in OpenAI's ``{"type": "function", "function": {name, description, parameters}}``
    form, whatever the vendor's form (Anthropic's ``input_schema``, the Responses API's flat
    function tools). Built-in tools (``{"type": "web_search"}``...) are kept as given."""
    result: list[Any] = []
    for tool in tools if isinstance(tools, (list, tuple)) else list(tools):
        spec = tool.model_dump() if hasattr(tool, "model_dump") else tool
        if not isinstance(spec, dict):
            result.append(spec)
            continue
        if "function" in spec:
            result.append(spec)
            continue
        kind = spec.get("type")
        schema = spec.get("input_schema", spec.get("parameters"))
        if "name" in spec and (kind in (None, "function", "custom") or schema is not None):
            function = {"name": spec["name"]}
            if spec.get("description"):
                function["description"] = spec["description"]
            if schema is not None:
                function["parameters"] = schema
            result.append({"type": "function", "function": function})
        else:
            result.append(spec)
    return result


def field(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]`` (SDK models and plain dicts alike), else None."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def finish_attributes(span: LiveSpan, model: Any, usage: dict[str, Any] | None) -> None:
    """Record the model the vendor answered with and the token usage (when reported)."""
    attributes = span._raw_attributes
    if model:
        attributes[keys.MODEL] = str(model)
    if usage is not None:
        attributes[keys.TOKEN_USAGE] = usage
