"""Anthropic wire format for the loopback server: messages, JSON and SSE events.

The reply echoes the last user message; a request that offers tools and has no
``tool_result`` yet gets a short text plus a ``tool_use`` block for the first tool.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from mlflow_trace_nb.testing._wire_openai import last_user_text, reply_text, tool_arguments

__all__ = ["message", "message_events"]


def _words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_words(v) for v in value)
    if isinstance(value, dict):
        return sum(_words(v) for k, v in value.items() if k in ("content", "text"))
    return 0


def _has_tool_result(messages: Any) -> bool:
    for m in messages if isinstance(messages, list) else []:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, list) and any(
            isinstance(p, dict) and p.get("type") == "tool_result" for p in content
        ):
            return True
    return False


def message(body: dict[str, Any]) -> dict[str, Any]:
    """A ``message`` object answering ``body``."""
    messages = body.get("messages", [])
    if body.get("tools") and not _has_tool_result(messages):
        tool = body["tools"][0]
        content: list[dict[str, Any]] = [
            {"type": "text", "text": "Let me check."},
            {
                "type": "tool_use",
                "id": "toolu_test0001",
                "name": tool.get("name", "tool"),
                "input": tool_arguments(tool.get("input_schema"), last_user_text(messages)),
            },
        ]
        stop_reason = "tool_use"
    else:
        content = [{"type": "text", "text": reply_text(messages)}]
        stop_reason = "end_turn"
    prompt = _words(messages) + _words(body.get("system") or "")
    return {
        "id": "msg_test0001",
        "type": "message",
        "role": "assistant",
        "model": str(body.get("model", "")),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": prompt,
            "output_tokens": _words(content) + (5 if stop_reason == "tool_use" else 0),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "service_tier": "standard",
        },
    }


def message_events(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The ``(event, data)`` pairs of a streamed answer to ``body``."""
    final = message(body)
    usage = final["usage"]
    start = {**final, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    yield "message_start", {"type": "message_start", "message": start}
    for index, block in enumerate(final["content"]):
        if block["type"] == "text":
            empty: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [
                {"type": "text_delta", "text": w if i == 0 else f" {w}"}
                for i, w in enumerate(block["text"].split(" "))
            ]
        else:
            empty = {**block, "input": {}}
            raw = json.dumps(block["input"])
            deltas = [
                {"type": "input_json_delta", "partial_json": raw[i : i + 8]}
                for i in range(0, len(raw), 8)
            ]
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": empty,
            },
        )
        if index == 0:
            yield "ping", {"type": "ping"}
        for delta in deltas:
            yield (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": delta,
                },
            )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": final["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        },
    )
    yield "message_stop", {"type": "message_stop"}
