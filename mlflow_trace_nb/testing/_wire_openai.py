"""OpenAI wire format for the loopback server: chat completions, responses, embeddings.

Bodies follow the shapes the real API returns (recorded fields, deterministic values): the
reply echoes the last user message, token counts are word counts, and a request that offers
tools and has no tool result yet gets a call of the first tool.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Iterator
from typing import Any

__all__ = ["chat_completion", "chat_chunks", "embeddings", "response", "response_events"]

_CREATED = 1_735_689_600  # fixed timestamps keep payloads deterministic


def _words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_words(v) for v in value)
    if isinstance(value, dict):
        return sum(_words(v) for k, v in value.items() if k in ("content", "text", "input"))
    return 0


def last_user_text(messages: Any) -> str:
    """The text of the last user message (string or content parts)."""
    if isinstance(messages, str):
        return messages
    for message in reversed(messages or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(
                    str(p.get("text", "")) for p in content if isinstance(p, dict)
                ).strip()
    return ""


def tool_arguments(schema: Any, question: str) -> dict[str, Any]:
    """Deterministic arguments for a JSON schema: every property gets the question's last
    word ("What's the weather in Paris?" -> "Paris"), or ``"example"``."""
    words = ["".join(ch for ch in word if ch.isalnum()) for word in question.split()]
    value = next((w for w in reversed(words) if w), "example")
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    return {name: value for name in props}


def tool_result_text(history: Any) -> str | None:
    """The content of a tool result ending the conversation, if it ends with one."""
    if not isinstance(history, list) or not history or not isinstance(history[-1], dict):
        return None
    last = history[-1]
    if last.get("role") == "tool":
        return str(last.get("content", ""))
    if last.get("type") == "function_call_output":
        return str(last.get("output", ""))
    content = last.get("content")
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and part.get("type") == "tool_result":
                inner = part.get("content", "")
                if isinstance(inner, list):
                    inner = " ".join(str(p.get("text", "")) for p in inner if isinstance(p, dict))
                return str(inner)
    return None


def reply_text(history: Any) -> str:
    """What the server answers: the tool's result after a tool call, else an echo."""
    result = tool_result_text(history)
    if result is not None:
        return f"The tool says: {result}"
    return f"Echo: {last_user_text(history)}"


def _wants_tool(body: dict[str, Any], history: Any) -> bool:
    if not body.get("tools"):
        return False
    for item in history if isinstance(history, list) else []:
        if isinstance(item, dict) and (
            item.get("role") == "tool" or item.get("type") == "function_call_output"
        ):
            return False
    return True


def answered_model(model: str) -> str:
    """The model name the server answers with (a dated snapshot, like the real API)."""
    return model if model[-4:].isdigit() else f"{model}-2024-07-18"


def _chat_tool_call(body: dict[str, Any]) -> dict[str, Any]:
    tool = body["tools"][0]
    function = tool.get("function", tool)
    return {
        "id": "call_test0001",
        "type": "function",
        "function": {
            "name": function.get("name", "tool"),
            "arguments": _json(
                tool_arguments(function.get("parameters"), last_user_text(body.get("messages")))
            ),
        },
    }


def _json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))


def _chat_usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_completion(body: dict[str, Any]) -> dict[str, Any]:
    """A ``chat.completion`` object answering ``body``."""
    messages = body.get("messages", [])
    message: dict[str, Any] = {"role": "assistant", "refusal": None, "annotations": []}
    if _wants_tool(body, messages):
        message.update(content=None, tool_calls=[_chat_tool_call(body)])
        finish, completion = "tool_calls", 5
    else:
        text = reply_text(messages)
        message["content"] = text
        finish, completion = "stop", _words(text)
    return {
        "id": "chatcmpl-test0001",
        "object": "chat.completion",
        "created": _CREATED,
        "model": answered_model(str(body.get("model", ""))),
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": _chat_usage(_words(messages), completion),
        "service_tier": "default",
        "system_fingerprint": "fp_test",
    }


def chat_chunks(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed answer to ``body``."""
    full = chat_completion(body)
    message = full["choices"][0]["message"]
    head = {k: full[k] for k in ("id", "created", "model", "system_fingerprint")}
    head["object"] = "chat.completion.chunk"
    head["service_tier"] = "default"

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**head, "choices": [choice]}

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    if message.get("tool_calls"):
        call = message["tool_calls"][0]
        start = {"index": 0, "id": call["id"], "type": "function"}
        start["function"] = {"name": call["function"]["name"], "arguments": ""}
        yield chunk({"tool_calls": [start]})
        arguments = call["function"]["arguments"]
        for i in range(0, len(arguments), 8):
            piece = {"index": 0, "function": {"arguments": arguments[i : i + 8]}}
            yield chunk({"tool_calls": [piece]})
    else:
        words = message["content"].split(" ")
        for i, word in enumerate(words):
            yield chunk({"content": word if i == 0 else f" {word}"})
    yield chunk({}, full["choices"][0]["finish_reason"])
    options = body.get("stream_options") or {}
    if options.get("include_usage"):
        yield {**head, "choices": [], "usage": full["usage"]}


def embeddings(body: dict[str, Any]) -> dict[str, Any]:
    """An embeddings ``list``: 8 deterministic dimensions per input."""
    inputs = body.get("input", "")
    texts = inputs if isinstance(inputs, list) else [inputs]
    base64_format = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        digest = hashlib.sha256(str(text).encode()).digest()
        vector = [round(b / 255.0 - 0.5, 4) for b in digest[:8]]
        encoded: Any = vector
        if base64_format:
            encoded = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(max(1, _words(str(t))) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": str(body.get("model", "")),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def response(body: dict[str, Any], status: str = "completed") -> dict[str, Any]:
    """A ``response`` object (Responses API) answering ``body``."""
    history = body.get("input", "")
    if _wants_tool(body, history):
        tool = body["tools"][0]
        item: dict[str, Any] = {
            "type": "function_call",
            "id": "fc_test0001",
            "call_id": "call_test0001",
            "name": tool.get("name", "tool"),
            "arguments": _json(tool_arguments(tool.get("parameters"), last_user_text(history))),
            "status": "completed",
        }
        completion = 5
    else:
        text = reply_text(history)
        part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        item = {
            "type": "message",
            "id": "msg_test0001",
            "status": "completed",
            "role": "assistant",
            "content": [part],
        }
        completion = _words(text)
    prompt = _words(history) + _words(body.get("instructions") or "")
    return {
        "id": "resp_test0001",
        "object": "response",
        "created_at": _CREATED,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "model": answered_model(str(body.get("model", ""))),
        "output": [item],
        "parallel_tool_calls": True,
        "temperature": body.get("temperature", 1.0),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools", []),
        "top_p": 1.0,
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        },
    }


def response_events(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The ``(event, data)`` pairs of a streamed Responses API answer."""
    final = response(body)
    start = {**final, "status": "in_progress", "output": [], "usage": None}
    item = final["output"][0]
    seq = iter(range(1_000_000))

    def event(kind: str, **data: Any) -> tuple[str, dict[str, Any]]:
        return kind, {"type": kind, "sequence_number": next(seq), **data}

    yield event("response.created", response=start)
    yield event("response.in_progress", response=start)
    if item["type"] == "message":
        text = item["content"][0]["text"]
        empty_item = {**item, "status": "in_progress", "content": []}
        yield event("response.output_item.added", output_index=0, item=empty_item)
        ids = {"item_id": item["id"], "output_index": 0, "content_index": 0}
        empty_part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        yield event("response.content_part.added", part=empty_part, **ids)
        for i, word in enumerate(text.split(" ")):
            delta = word if i == 0 else f" {word}"
            yield event("response.output_text.delta", delta=delta, logprobs=[], **ids)
        yield event("response.output_text.done", text=text, logprobs=[], **ids)
        yield event("response.content_part.done", part=item["content"][0], **ids)
    else:
        empty_item = {**item, "status": "in_progress", "arguments": ""}
        yield event("response.output_item.added", output_index=0, item=empty_item)
        ids = {"item_id": item["id"], "output_index": 0}
        yield event("response.function_call_arguments.delta", delta=item["arguments"], **ids)
        yield event("response.function_call_arguments.done", arguments=item["arguments"], **ids)
    yield event("response.output_item.done", output_index=0, item=item)
    yield event("response.completed", response=final)
