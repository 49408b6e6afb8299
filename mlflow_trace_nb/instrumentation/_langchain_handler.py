"""The LangChain callback handler that turns runs into spans.

Each run (chain, chat model, LLM, retriever, tool) opens a span when it starts and ends it
when it ends; spans are keyed by ``run_id``. A run's parent span is the span of its
``parent_run_id``, so runs nest correctly whatever thread or task reports them; a run without
a parent run nests under the active span (the user's ``@trace``), never under another run's
span: that is a sibling whose start was reported first from the same thread, as a sync
``batch`` reports every item's start before it runs any.

Sync runs also make their span the active one while they run, so user code traced inside a
``RunnableLambda`` or a tool nests under it. Async run managers report the end of a run from
a copied context (``shielded``), where the active span could not be restored; there the
handler leaves the active span alone (``sync=False``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb._internal.tracer.context import CURRENT_SPAN
from mlflow_trace_nb._internal.tracer.live_span import LiveSpan
from mlflow_trace_nb._internal.tracer.span_lifecycle import finish_span, open_span
from mlflow_trace_nb.errors import report_internal_error
from mlflow_trace_nb.instrumentation import _langchain_convert as convert
from mlflow_trace_nb.tracing.provider import SpanType

__all__ = ["RunSpans", "SpanCallbackHandler"]

F = TypeVar("F", bound=Callable[..., Any])
_DEFAULT_NAMES = {
    SpanType.CHAIN: "Chain",
    SpanType.CHAT_MODEL: "ChatModel",
    SpanType.LLM: "LLM",
    SpanType.RETRIEVER: "Retriever",
    SpanType.TOOL: "Tool",
}


class RunSpans:
    """The open spans by run id, shared by the sync and the async handler."""

    def __init__(self, is_active: Callable[[], bool]) -> None:
        self.spans: dict[UUID, LiveSpan] = {}
        #: ``id()`` of the spans in ``spans`` a sync handler made the active span (kept
        #: alive by ``spans``, so an id is never reused while it is here).
        self.activated: set[int] = set()
        self.is_active = is_active


def _guarded(what: str) -> Callable[[F], F]:
    """Swallow (and report) any failure of ours: LangChain must never see it."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def guarded(*args: Any, **kwargs: Any) -> None:
            try:
                method(*args, **kwargs)
            except Exception:
                report_internal_error(f"LangChain callback {what}")

        return guarded  # type: ignore[return-value]

    return decorate


def _span_name(serialized: Any, kwargs: dict[str, Any], span_type: str) -> str:
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    if isinstance(serialized, dict):
        if isinstance(serialized.get("name"), str):
            return str(serialized["name"])
        ids = serialized.get("id")
        if isinstance(ids, list) and ids:
            return str(ids[-1])
    return _DEFAULT_NAMES.get(span_type, "LangChain")


def _json(value: Any) -> str:
    try:
        return json.dumps(value, default=str)
    except Exception:
        return str(value)


class SpanCallbackHandler(BaseCallbackHandler):
    """Opens and ends our spans for LangChain runs (see the module docstring)."""

    run_inline = True  # async managers call us in the run's own context, not an executor
    raise_error = False

    def __init__(self, runs: RunSpans, *, sync: bool) -> None:
        self.runs = runs
        self.sync = sync

    def __repr__(self) -> str:
        return f"SpanCallbackHandler(sync={self.sync})"

    # Opening and ending -------------------------------------------------------------------
    def _open(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        name: str,
        span_type: str,
        inputs: Any,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        if not RUNTIME.enabled or not self.runs.is_active():
            return
        runs = self.runs
        parent = runs.spans.get(parent_run_id) if parent_run_id is not None else None
        if parent is None:
            parent = current = CURRENT_SPAN.get()
            # A run without a parent run never nests under another run's span: that one is
            # only active because its start was reported from this thread too (a sync
            # ``batch`` reports every item's start before any item runs).
            while parent is not None and id(parent) in runs.activated:
                parent = parent._parent
        else:
            current = None
        if parent is current:
            span = open_span(name, span_type, convert.plain(inputs), attributes)
        else:
            token = CURRENT_SPAN.set(parent)
            try:
                span = open_span(name, span_type, convert.plain(inputs), attributes)
            finally:
                CURRENT_SPAN.reset(token)
        runs.spans[run_id] = span
        if self.sync and span._recording:
            span._token = CURRENT_SPAN.set(span)
            runs.activated.add(id(span))

    def _end(
        self,
        run_id: UUID,
        outputs: Any = None,
        error: BaseException | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> LiveSpan | None:
        span = self.runs.spans.pop(run_id, None)
        if span is None:
            return None
        self.runs.activated.discard(id(span))
        if not span._recording:
            finish_span(span, None)
            return None
        try:
            if kwargs and "inputs" in kwargs:  # streamed runs learn their input at the end
                span.set_inputs(convert.plain(kwargs["inputs"]))
            if error is None:
                span.set_outputs(convert.plain(outputs))
        finally:
            finish_span(span, error)
        return span

    def _event(self, run_id: UUID, name: str, attributes: dict[str, Any]) -> None:
        span = self.runs.spans.get(run_id)
        if span is not None:
            span.add_event(name, attributes)

    # Chains -------------------------------------------------------------------------------
    @_guarded("on_chain_start")
    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        name = _span_name(serialized, kwargs, SpanType.CHAIN)
        self._open(run_id, parent_run_id, name, SpanType.CHAIN, inputs)

    @_guarded("on_chain_end")
    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, outputs, kwargs=kwargs)

    @_guarded("on_chain_error")
    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error, kwargs=kwargs)

    # Models -------------------------------------------------------------------------------
    def _model_attributes(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        raw = kwargs.get("invocation_params") or {}
        params = {k: v for k, v in raw.items() if v is not None and k != "_type"}
        metadata = kwargs.get("metadata") or {}
        attributes: dict[str, Any] = {keys.PROVIDER: "langchain"}
        model = params.get("model") or params.get("model_name") or metadata.get("ls_model_name")
        if model:
            attributes[keys.MODEL] = str(model)
        tools = convert.chat_tools(params.pop("tools", None))
        if tools:
            attributes[keys.CHAT_TOOLS] = tools
        if params:
            attributes["invocation_params"] = params
        return attributes

    @_guarded("on_chat_model_start")
    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        rows = [[convert.message_dict(m) for m in row] for row in messages]
        inputs = {"messages": rows[0] if len(rows) == 1 else rows}
        attributes = self._model_attributes(kwargs)
        attributes[keys.MESSAGE_FORMAT] = "openai"
        name = _span_name(serialized, kwargs, SpanType.CHAT_MODEL)
        self._open(run_id, parent_run_id, name, SpanType.CHAT_MODEL, inputs, attributes)

    @_guarded("on_llm_start")
    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        inputs = {"prompts": list(prompts)}
        attributes = self._model_attributes(kwargs)
        name = _span_name(serialized, kwargs, SpanType.LLM)
        self._open(run_id, parent_run_id, name, SpanType.LLM, inputs, attributes)

    @_guarded("on_llm_end")
    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        span = self.runs.spans.get(run_id)
        if span is not None and span._recording:
            usage = convert.result_usage(response)
            if usage is not None:
                span.set_attribute(keys.TOKEN_USAGE, usage)
            model = convert.model_name(response)
            if model:
                span.set_attribute(keys.MODEL, model)
        self._end(run_id, convert.llm_outputs(response))

    @_guarded("on_llm_error")
    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    # Retrievers and tools -----------------------------------------------------------------
    @_guarded("on_retriever_start")
    def on_retriever_start(
        self,
        serialized: dict[str, Any],
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        name = _span_name(serialized, kwargs, SpanType.RETRIEVER)
        self._open(run_id, parent_run_id, name, SpanType.RETRIEVER, {"query": query})

    @_guarded("on_retriever_end")
    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, list(documents))

    @_guarded("on_retriever_error")
    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    @_guarded("on_tool_start")
    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = _span_name(serialized, kwargs, SpanType.TOOL)
        attributes = None
        if isinstance(serialized, dict) and serialized.get("description"):
            attributes = {"description": str(serialized["description"])}
        value = inputs if inputs is not None else input_str
        self._open(run_id, parent_run_id, name, SpanType.TOOL, value, attributes)

    @_guarded("on_tool_end")
    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, output)

    @_guarded("on_tool_error")
    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    # Events on the open run ---------------------------------------------------------------
    @_guarded("on_agent_action")
    def on_agent_action(self, action: Any, *, run_id: UUID, **kwargs: Any) -> None:
        attributes = {
            "tool": str(getattr(action, "tool", "")),
            "tool_input": _json(getattr(action, "tool_input", None)),
            "log": str(getattr(action, "log", "")),
        }
        self._event(run_id, "agent_action", attributes)

    @_guarded("on_agent_finish")
    def on_agent_finish(self, finish: Any, *, run_id: UUID, **kwargs: Any) -> None:
        attributes = {
            "return_values": _json(getattr(finish, "return_values", None)),
            "log": str(getattr(finish, "log", "")),
        }
        self._event(run_id, "agent_finish", attributes)

    @_guarded("on_retry")
    def on_retry(self, retry_state: Any, *, run_id: UUID, **kwargs: Any) -> None:
        attempt = getattr(retry_state, "attempt_number", None)
        self._event(run_id, "retry", {"attempt_number": _json(attempt)})

    @_guarded("on_custom_event")
    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._event(run_id, str(name), {"data": _json(data)})
