"""Assembling OpenAI streams into the message they spell out, and OpenAI token usage.

``ChatRecorder`` folds ``chat.completion.chunk`` objects into a ``chat.completion``-shaped
dict (content joined, tool-call arguments joined per call, usage from the final chunk when
``stream_options={"include_usage": True}``). ``ResponsesRecorder`` keeps the ``response``
of the ``response.completed`` (or ``incomplete``/``failed``) event, or, for a stream closed
early, the text received so far.
"""

from __future__ import annotations

from typing import Any

from mlflow_trace_nb._internal.tracer.live_span import LiveSpan
from mlflow_trace_nb.instrumentation._llm_common import field, finish_attributes
from mlflow_trace_nb.instrumentation._schema import token_usage

__all__ = ["ChatRecorder", "ResponsesRecorder", "usage_of"]


def usage_of(usage: Any) -> dict[str, Any] | None:
    """``mlflow.chat.tokenUsage`` from an OpenAI usage object (chat, responses, embeddings).

    ``cache_read_input_tokens`` is the ``cached_tokens`` count when it is not zero."""
    if usage is None:
        return None
    prompt = field(usage, "prompt_tokens")
    if prompt is None:
        prompt = field(usage, "input_tokens")
    completion = field(usage, "completion_tokens")
    if completion is None:
        completion = field(usage, "output_tokens")
    if prompt is None and completion is None:
        return None
    details = field(usage, "prompt_tokens_details") or field(usage, "input_tokens_details")
    cached = field(details, "cached_tokens") if details is not None else None
    return token_usage(prompt, completion or 0, cache_read_input_tokens=cached or None)


class _Choice:
    __slots__ = ("content", "finish_reason", "refusal", "role", "tool_calls")

    def __init__(self) -> None:
        self.role = "assistant"
        self.content: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None

    def add(self, choice: Any) -> None:
        delta = choice.delta
        if delta is not None:
            if delta.role:
                self.role = delta.role
            if delta.content:
                self.content.append(delta.content)
            if getattr(delta, "refusal", None):
                self.refusal.append(delta.refusal)
            if delta.tool_calls:
                for call in delta.tool_calls:
                    self._add_tool_call(call)
        if choice.finish_reason:
            self.finish_reason = choice.finish_reason

    def _add_tool_call(self, call: Any) -> None:
        entry = self.tool_calls.get(call.index)
        if entry is None:
            entry = self.tool_calls[call.index] = {"id": None, "name": [], "arguments": []}
        if call.id:
            entry["id"] = call.id
        function = call.function
        if function is not None:
            if function.name:
                entry["name"].append(function.name)
            if function.arguments:
                entry["arguments"].append(function.arguments)

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": self.role,
            "content": "".join(self.content) if self.content else None,
        }
        if self.refusal:
            message["refusal"] = "".join(self.refusal)
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": entry["id"],
                    "type": "function",
                    "function": {
                        "name": "".join(entry["name"]),
                        "arguments": "".join(entry["arguments"]),
                    },
                }
                for _, entry in sorted(self.tool_calls.items())
            ]
        return message


class ChatRecorder:
    """Folds ``chat.completion.chunk`` objects into one ``chat.completion`` dict."""

    __slots__ = ("choices", "created", "id", "model", "usage")

    def __init__(self) -> None:
        self.id: str | None = None
        self.model: str | None = None
        self.created: int | None = None
        self.usage: Any = None
        self.choices: dict[int, _Choice] = {}

    def add(self, chunk: Any) -> None:
        """Take one chunk."""
        if self.id is None:
            self.id = getattr(chunk, "id", None)
            self.created = getattr(chunk, "created", None)
        model = getattr(chunk, "model", None)
        if model:
            self.model = model
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        for choice in getattr(chunk, "choices", None) or ():
            slot = self.choices.get(choice.index)
            if slot is None:
                slot = self.choices[choice.index] = _Choice()
            slot.add(choice)

    def record(self, span: LiveSpan) -> None:
        """Write the assembled completion, model and usage on ``span``."""
        span.set_outputs(
            {
                "id": self.id,
                "object": "chat.completion",
                "created": self.created,
                "model": self.model,
                "choices": [
                    {"index": i, "message": c.message(), "finish_reason": c.finish_reason}
                    for i, c in sorted(self.choices.items())
                ],
                "usage": self.usage,
            }
        )
        finish_attributes(span, self.model, usage_of(self.usage))


_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class ResponsesRecorder:
    """Keeps the final ``response`` of a Responses API stream (or the text seen so far)."""

    __slots__ = ("response", "text")

    def __init__(self) -> None:
        self.response: Any = None
        self.text: list[str] = []

    def add(self, event: Any) -> None:
        """Take one stream event."""
        kind = getattr(event, "type", None)
        if kind == "response.output_text.delta":
            self.text.append(event.delta)
        elif kind in _FINAL_EVENTS or (kind == "response.created" and self.response is None):
            self.response = event.response

    def record(self, span: LiveSpan) -> None:
        """Write the final response (or the partial text), model and usage on ``span``."""
        response = self.response
        if response is not None and field(response, "status") != "in_progress":
            span.set_outputs(response)
        else:
            span.set_outputs({"output_text": "".join(self.text), "status": "incomplete"})
        if response is not None:
            finish_attributes(span, field(response, "model"), usage_of(field(response, "usage")))
