"""Chat messages of LLM spans as one conversation, whatever the vendor's message format.

The widget draws the result; nothing here is HTML. Understood forms:

- OpenAI chat: ``inputs["messages"]`` = ``[{role, content, tool_calls?}]``, outputs with
  ``choices[i].message``; the Responses API: ``inputs["input"]``/``instructions`` and
  ``outputs["output"]`` items.
- Anthropic: ``inputs["system"]`` + ``inputs["messages"]`` whose ``content`` is a string or a
  list of blocks (``text``, ``tool_use``, ``tool_result``, ``image``, ``thinking``), outputs
  ``{role, content: [blocks]}``.
- LangChain-style message dicts (``type: human|ai|system|tool``).

A message becomes ``{"role": str, "parts": [{"k": kind, "t": text, "n": name}]}`` with kind
one of ``text``, ``tool_call``, ``tool_result``, ``image``, ``thinking``, ``json``.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_MESSAGES", "MAX_PART_CHARS", "chat_messages", "chat_tools"]

#: Messages kept per span (the last ones are kept when there are more).
MAX_MESSAGES = 100
#: Characters of one message part shown inline.
MAX_PART_CHARS = 4_000

_ROLES = {"human": "user", "ai": "assistant", "AIMessageChunk": "assistant", "function": "tool"}


def _cut(text: str, limit: int = MAX_PART_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [{len(text) - limit} more chars]"


def _json(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, indent=1, default=str)
    except Exception:
        return str(value)


def _part(kind: str, text: Any, name: Any = None, limit: int = MAX_PART_CHARS) -> dict[str, str]:
    part = {"k": kind, "t": _cut(_json(text) if text is not None else "", limit)}
    if name:
        part["n"] = str(name)
    return part


def _block(block: Any, limit: int = MAX_PART_CHARS) -> dict[str, str]:
    if not isinstance(block, dict):
        return _part("text", block, limit=limit)
    kind = block.get("type")
    if kind in ("text", "input_text", "output_text") or (kind is None and "text" in block):
        return _part("text", block.get("text"), limit=limit)
    if kind in ("tool_use", "function_call", "server_tool_use"):
        args = block.get("input", block.get("arguments"))
        return _part("tool_call", args, block.get("name"), limit)
    if kind in ("tool_result", "function_call_output"):
        content = block.get("content", block.get("output"))
        if isinstance(content, list):
            content = "\n".join(_block(b, limit)["t"] for b in content)
        return _part(
            "tool_result", content, block.get("tool_use_id") or block.get("call_id"), limit
        )
    if kind in ("image", "image_url", "input_image"):
        return _part("image", "[image]")
    if kind in ("thinking", "redacted_thinking"):
        return _part("thinking", block.get("thinking", ""), limit=limit)
    return _part("json", block, limit=limit)


def _message(msg: Any, limit: int = MAX_PART_CHARS) -> dict[str, Any] | None:
    if not isinstance(msg, dict):
        return None
    role = msg.get("role") or msg.get("type")
    if role is None:
        return None
    role = _ROLES.get(str(role), str(role))
    content = msg.get("content")
    parts: list[dict[str, str]] = []
    if isinstance(content, list):
        parts.extend(_block(b, limit) for b in content)
    elif content is not None and content != "":
        parts.append(_part("text", content, limit=limit))
    for call in msg.get("tool_calls") or []:
        if isinstance(call, dict):
            inner = call.get("function")
            function: dict[str, Any] = inner if isinstance(inner, dict) else call
            parts.append(
                _part(
                    "tool_call",
                    function.get("arguments", function.get("args")),
                    function.get("name"),
                    limit,
                )
            )
    if role == "tool" and msg.get("tool_call_id"):
        parts = [dict(p, n=str(msg["tool_call_id"])) if p["k"] == "text" else p for p in parts]
        parts = [dict(p, k="tool_result") if p["k"] == "text" else p for p in parts]
    return {"role": role, "parts": parts}


def _input_messages(inputs: Any) -> list[Any]:
    if isinstance(inputs, list):
        if inputs and isinstance(inputs[0], list):  # LangChain: a batch of conversations
            inputs = inputs[0]
        return list(inputs)
    if not isinstance(inputs, dict):
        return []
    found: list[Any] = []
    system = inputs.get("system") or inputs.get("instructions")
    if system:
        found.append({"role": "system", "content": system})
    for key in ("messages", "input", "prompt"):
        value = inputs.get(key)
        if isinstance(value, list):
            if value and isinstance(value[0], list):
                value = value[0]
            found.extend(
                v if isinstance(v, dict) else {"role": "user", "content": v} for v in value
            )
            break
        if isinstance(value, str):
            found.append({"role": "user", "content": value})
            break
    return found


def _output_messages(outputs: Any) -> list[Any]:
    if isinstance(outputs, str):
        return [{"role": "assistant", "content": outputs}]
    if not isinstance(outputs, dict):
        return []
    choices = outputs.get("choices")
    if isinstance(choices, list) and choices:
        first = choices[0] if isinstance(choices[0], dict) else {}
        message = first.get("message") or first.get("delta")
        if isinstance(message, dict):
            return [dict(message, role=message.get("role") or "assistant")]
        if "text" in first:
            return [{"role": "assistant", "content": first.get("text")}]
    if outputs.get("role") and "content" in outputs:  # Anthropic message, LangChain message
        return [outputs]
    if outputs.get("type") in ("ai", "AIMessageChunk"):
        return [outputs]
    items = outputs.get("output")
    if isinstance(items, list):  # Responses API
        found: list[Any] = []
        for item in items:
            if isinstance(item, dict) and item.get("type") == "message":
                found.append(
                    {"role": item.get("role", "assistant"), "content": item.get("content")}
                )
            elif isinstance(item, dict):
                found.append({"role": "assistant", "content": [item]})
        return found
    generations = outputs.get("generations")
    if isinstance(generations, list) and generations and isinstance(generations[0], list):
        generation = generations[0][0] if generations[0] else {}
        if isinstance(generation, dict):
            message = generation.get("message")
            if isinstance(message, dict):
                return [message]
            return [{"role": "assistant", "content": generation.get("text")}]
    return []


def chat_messages(
    inputs: Any, outputs: Any, part_chars: int = MAX_PART_CHARS
) -> list[dict[str, Any]] | None:
    """The conversation of a chat span (request messages, then the reply), or None
    (``part_chars``: characters kept per message part)."""
    try:
        raw = _input_messages(inputs) + _output_messages(outputs)
        messages = [m for m in (_message(r, part_chars) for r in raw) if m is not None]
    except Exception:
        return None
    if not messages:
        return None
    return messages[-MAX_MESSAGES:]


def chat_tools(value: Any) -> list[dict[str, str]] | None:
    """Tools of the ``mlflow.chat.tools`` attribute as ``[{name, description, parameters}]``."""
    if not isinstance(value, list) or not value:
        return None
    tools = []
    for tool in value[:MAX_MESSAGES]:
        spec = tool.get("function", tool) if isinstance(tool, dict) else {"name": str(tool)}
        if not isinstance(spec, dict):
            spec = {"name": str(spec)}
        tools.append(
            {
                "name": str(spec.get("name") or spec.get("type") or "?"),
                "description": _cut(str(spec.get("description") or "")),
                "parameters": _cut(_json(spec.get("parameters", spec.get("input_schema", "")))),
            }
        )
    return tools
