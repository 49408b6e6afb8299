"""Assembling Anthropic message streams, and Anthropic token usage.

``EventRecorder`` folds the raw events of ``messages.create(stream=True)`` into a
``message``-shaped dict; ``SnapshotRecorder`` reads the message that the SDK's own
``MessageStream`` (``messages.stream(...)``) has accumulated.
"""

from __future__ import annotations

import json
from typing import Any

from mlflow_trace_nb._internal.tracer.live_span import LiveSpan
from mlflow_trace_nb.instrumentation._llm_common import field, finish_attributes
from mlflow_trace_nb.instrumentation._schema import token_usage

__all__ = ["EventRecorder", "SnapshotRecorder", "usage_of"]


def usage_of(usage: Any) -> dict[str, Any] | None:
    """``mlflow.chat.tokenUsage`` from an Anthropic usage object. ``input_tokens`` is what
    Anthropic reports (cached tokens excluded); cache reads and writes are their own keys."""
    if usage is None:
        return None
    return token_usage(
        field(usage, "input_tokens"),
        field(usage, "output_tokens"),
        cache_read_input_tokens=field(usage, "cache_read_input_tokens") or None,
        cache_creation_input_tokens=field(usage, "cache_creation_input_tokens") or None,
    )


def record_message(span: LiveSpan, message: Any) -> None:
    """Write ``message`` (a ``Message`` or its dict form), model and usage on ``span``."""
    span.set_outputs(message)
    finish_attributes(span, field(message, "model"), usage_of(field(message, "usage")))


def _as_dict(block: Any) -> dict[str, Any]:
    if isinstance(block, dict):
        return dict(block)
    dumped: dict[str, Any] = block.model_dump(exclude_none=True)
    return dumped


class EventRecorder:
    """Folds raw message-stream events into one ``message`` dict."""

    __slots__ = ("blocks", "message", "parts", "usage")

    def __init__(self) -> None:
        self.message: dict[str, Any] = {"type": "message", "role": "assistant", "content": []}
        self.blocks: list[dict[str, Any]] = self.message["content"]
        self.parts: dict[int, list[str]] = {}
        self.usage: dict[str, Any] = {}

    def add(self, event: Any) -> None:
        """Take one event."""
        kind = getattr(event, "type", None)
        if kind == "content_block_delta":
            delta = event.delta
            text = (
                getattr(delta, "text", None)
                or getattr(delta, "partial_json", None)
                or getattr(delta, "thinking", None)
            )
            if text:
                self.parts.setdefault(event.index, []).append(text)
        elif kind == "content_block_start":
            self.blocks.append(_as_dict(event.content_block))
        elif kind == "content_block_stop":
            self._close_block(event.index)
        elif kind == "message_start":
            start = event.message
            for key in ("id", "model", "role"):
                value = getattr(start, key, None)
                if value is not None:
                    self.message[key] = value
            self._take_usage(getattr(start, "usage", None))
        elif kind == "message_delta":
            for key in ("stop_reason", "stop_sequence"):
                self.message[key] = getattr(event.delta, key, None)
            self._take_usage(getattr(event, "usage", None))

    def _take_usage(self, usage: Any) -> None:
        if usage is None:
            return
        for key in (
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        ):
            value = getattr(usage, key, None)
            if value is not None:
                self.usage[key] = value

    def _close_block(self, index: int) -> None:
        parts = self.parts.pop(index, None)
        if parts is None or index >= len(self.blocks):
            return
        block = self.blocks[index]
        joined = "".join(parts)
        kind = block.get("type")
        if kind == "text":
            block["text"] = block.get("text", "") + joined
        elif kind == "thinking":
            block["thinking"] = block.get("thinking", "") + joined
        elif "input" in block:
            try:
                block["input"] = json.loads(joined) if joined else {}
            except ValueError:
                block["input"] = joined  # a stream cut mid-JSON: keep what arrived

    def record(self, span: LiveSpan) -> None:
        """Write the assembled message, model and usage on ``span``."""
        for index in list(self.parts):  # blocks a stream closed early left open
            self._close_block(index)
        if self.usage:
            self.message["usage"] = self.usage
        record_message(span, self.message)


class SnapshotRecorder:
    """Reads the message a ``MessageStream`` accumulated (the SDK folds the events itself)."""

    __slots__ = ("stream",)

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def add(self, event: Any) -> None:
        """Nothing to do: the SDK's stream keeps the snapshot."""

    def record(self, span: LiveSpan) -> None:
        """Write the stream's current message snapshot, model and usage on ``span``."""
        try:
            message = self.stream.current_message_snapshot
        except Exception:  # nothing received yet
            return
        record_message(span, message)
