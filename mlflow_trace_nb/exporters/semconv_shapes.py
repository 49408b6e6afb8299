"""Vendor payload shapes -> one neutral form, shared by the OpenInference and GenAI mappings.

A span already holds everything a GenAI UI wants, in its vendor's own shape: OpenAI chat
``messages`` and ``choices[].message``, Anthropic ``system`` + content blocks, the OpenAI
Responses API ``input`` / ``instructions`` / ``output`` items, LangChain messages (recorded as
OpenAI-style dicts) and documents, plain strings. The functions here read those (after
``to_jsonable``, so only dicts, lists and scalars) into:

- a **message**: ``{"role": str, "parts": [part, ...]}`` plus ``"name"``,
  ``"finish_reason"`` when known; a part is ``{"type": "text", "content": str}``,
  ``{"type": "reasoning", "content": str}``, ``{"type": "image", "url": str}``,
  ``{"type": "tool_call", "id", "name", "arguments": str}`` or
  ``{"type": "tool_call_response", "id", "response": str}`` (the OTel GenAI message
  parts, see ``semconv_genai``);
- a **document**: ``{"id", "content", "metadata", "score"}`` (each optional);
- a **tool definition**: ``{"name", "description", "parameters", "json_schema"}``.

Sizes: the export hands these functions payloads bounded by ``to_jsonable`` (its size
budget, ``MAX_STRING_CHARS`` per string, ``MAX_COLLECTION_ITEMS`` per list); here too at
most ``MAX_COLLECTION_ITEMS`` messages, documents, tools and parts are read and each text is
cut at ``MAX_STRING_CHARS``. Nothing here raises on an unexpected shape: what is
not recognised is skipped.
"""

from __future__ import annotations

import json
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.serialization import (
    MAX_COLLECTION_ITEMS,
    MAX_JSON_CHARS,
    MAX_STRING_CHARS,
    dumps,
    to_jsonable,
)

__all__ = [
    "LLM_TYPES",
    "MAX_ITEMS",
    "clip",
    "documents",
    "input_messages",
    "invocation_parameters",
    "json_text",
    "output_messages",
    "plain",
    "system_instructions",
    "tool_definitions",
    "usage",
]

#: Span types whose payloads hold chat messages.
LLM_TYPES = frozenset({"LLM", "CHAT_MODEL"})

Message = dict[str, Any]
Part = dict[str, Any]

#: Request keys that are the conversation or the tool list, not invocation parameters.
_NOT_PARAMETERS = frozenset(
    {"messages", "input", "instructions", "system", "tools", "prompt", "prompts", "query"}
)
_N = MAX_ITEMS = MAX_COLLECTION_ITEMS
_CUT = "…[truncated]"
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def plain(value: Any) -> Any:
    """``value`` as dicts, lists and scalars (pydantic responses included), bounded."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return to_jsonable(value)


def json_text(value: Any) -> str:
    """Compact JSON text of plain ``value`` by the C encoder; ``dumps`` (which bounds it at
    ``MAX_JSON_CHARS``) for anything else or anything longer."""
    try:
        text = _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError):
        return dumps(value)
    return text if len(text) <= MAX_JSON_CHARS else dumps(value)


def clip(text: str) -> str:
    """``text`` cut at ``MAX_STRING_CHARS``."""
    return text if len(text) <= MAX_STRING_CHARS else text[:MAX_STRING_CHARS] + _CUT


def _text(value: Any) -> str:
    """Text of at most ``MAX_STRING_CHARS`` (JSON text for what is not a string)."""
    return clip(value if isinstance(value, str) else json_text(value))


def _arguments(value: Any) -> str:
    return value if isinstance(value, str) else json_text(value if value is not None else {})


# Parts ----------------------------------------------------------------------------------
def _block_parts(block: Any) -> list[Part]:
    """The parts of one content block (OpenAI, Anthropic or Responses API)."""
    if isinstance(block, str):
        return [{"type": "text", "content": _text(block)}]
    if not isinstance(block, dict):
        return []
    kind = block.get("type")
    if kind in ("text", "input_text", "output_text") or (kind is None and "text" in block):
        return [{"type": "text", "content": _text(block.get("text", ""))}]
    if kind == "refusal":
        return [{"type": "text", "content": _text(block.get("refusal", ""))}]
    if kind in ("thinking", "reasoning"):
        summary = block.get("summary")
        if isinstance(summary, list):
            text = "".join(s.get("text", "") for s in summary if isinstance(s, dict))
        else:
            text = block.get("thinking") or block.get("text") or ""
        return [{"type": "reasoning", "content": _text(text)}]
    if kind in ("image_url", "input_image", "image"):
        image = block.get("image_url", block.get("source"))
        url = image.get("url") if isinstance(image, dict) else image
        return [{"type": "image", "url": _text(url or "")}]
    if kind in ("tool_use", "function_call"):
        return [
            {
                "type": "tool_call",
                "id": block.get("id") if kind == "tool_use" else block.get("call_id"),
                "name": block.get("name"),
                "arguments": _arguments(block.get("input", block.get("arguments"))),
            }
        ]
    if kind in ("tool_result", "function_call_output"):
        result = block.get("content", block.get("output"))
        if isinstance(result, list):
            result = "".join(
                p["content"] for b in result for p in _block_parts(b) if "content" in p
            )
        return [
            {
                "type": "tool_call_response",
                "id": block.get("tool_use_id", block.get("call_id")),
                "response": _text(result if result is not None else ""),
            }
        ]
    return []


def _content_parts(content: Any) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, list):
        return [p for block in content[:_N] for p in _block_parts(block)]
    return [{"type": "text", "content": _text(content)}]


def _tool_call_parts(calls: Any) -> list[Part]:
    parts: list[Part] = []
    for call in calls[:_N] if isinstance(calls, list) else []:
        if not isinstance(call, dict):
            continue
        function: dict[str, Any] = (
            call["function"] if isinstance(call.get("function"), dict) else call
        )
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": function.get("name"),
                "arguments": _arguments(function.get("arguments", function.get("args"))),
            }
        )
    return parts


def _message(raw: Any, default_role: str) -> Message | None:
    """One message from an OpenAI/Anthropic/LangChain/Responses dict, or a string."""
    if isinstance(raw, str):
        return {"role": default_role, "parts": [{"type": "text", "content": _text(raw)}]}
    if not isinstance(raw, dict):
        return None
    kind = raw.get("type")
    if kind in ("function_call", "function_call_output", "reasoning"):  # Responses API items
        role = "tool" if kind == "function_call_output" else "assistant"
        return {"role": role, "parts": _block_parts(raw)}
    if "role" not in raw and "content" not in raw:
        return None
    role = str(raw.get("role") or default_role)
    if role in ("human",):
        role = "user"
    elif role in ("ai",):
        role = "assistant"
    parts = _content_parts(raw.get("content"))
    parts += _tool_call_parts(raw.get("tool_calls"))
    if raw.get("tool_call_id") is not None:  # an OpenAI tool message
        text = "".join(p.get("content", "") for p in parts)
        parts = [{"type": "tool_call_response", "id": raw["tool_call_id"], "response": text}]
    message: Message = {"role": role, "parts": parts}
    if isinstance(raw.get("name"), str):
        message["name"] = raw["name"]
    return message


def _messages(raw: Any, default_role: str) -> list[Message]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return []
    if raw and all(isinstance(row, list) for row in raw):  # a LangChain batch: first prompt
        raw = raw[0]
    return [m for m in (_message(item, default_role) for item in raw[:_N]) if m is not None]


# Requests and answers -------------------------------------------------------------------
def system_instructions(inputs: Any) -> list[Part]:
    """System text given beside the messages (Anthropic ``system``, Responses
    ``instructions``), as parts."""
    if not isinstance(inputs, dict):
        return []
    return _content_parts(inputs.get("system", inputs.get("instructions")))


def input_messages(inputs: Any) -> list[Message]:
    """The conversation sent to the model (system instructions not included)."""
    if isinstance(inputs, list):
        return _messages(inputs, "user")
    if isinstance(inputs, str):
        return _messages(inputs, "user")
    if not isinstance(inputs, dict):
        return []
    for key in ("messages", "input", "prompts", "prompt"):
        if key in inputs:
            return _messages(inputs[key], "user")
    return []


def output_messages(outputs: Any) -> list[Message]:
    """The answer(s): one message per choice or candidate, with ``finish_reason``."""
    if isinstance(outputs, dict):
        choices = outputs.get("choices")
        if isinstance(choices, list):  # OpenAI chat / completions
            found: list[Message] = []
            for choice in choices[:_N]:
                if not isinstance(choice, dict):
                    continue
                raw = choice.get("message", choice.get("text"))
                message = _message(raw if raw is not None else "", "assistant")
                if message is not None:
                    if choice.get("finish_reason"):
                        message["finish_reason"] = str(choice["finish_reason"])
                    found.append(message)
            return found
        if isinstance(outputs.get("output"), list):  # Responses API
            parts = [p for item in outputs["output"][:_N] for p in _output_item_parts(item)]
            message = {"role": "assistant", "parts": parts}
            reason = _responses_finish_reason(outputs)
            if reason:
                message["finish_reason"] = reason
            return [message]
        if outputs.get("type") == "message" or "stop_reason" in outputs:  # Anthropic
            message = {"role": "assistant", "parts": _content_parts(outputs.get("content"))}
            if outputs.get("stop_reason"):
                message["finish_reason"] = str(outputs["stop_reason"])
            return [message]
        single = _message(outputs, "assistant")  # one LangChain / OpenAI-style message
        return [single] if single is not None else []
    return _messages(outputs, "assistant")


def _responses_finish_reason(outputs: dict[str, Any]) -> str | None:
    """A Responses API answer's status as a finish reason (``completed`` -> ``stop``, an
    incomplete one -> its reason, e.g. ``max_output_tokens``)."""
    status = outputs.get("status")
    if status == "completed":
        return "stop"
    details = outputs.get("incomplete_details")
    if status == "incomplete" and isinstance(details, dict) and details.get("reason"):
        return str(details["reason"])
    return str(status) if status else None


def _output_item_parts(item: Any) -> list[Part]:
    if isinstance(item, dict) and item.get("type") == "message":
        return _content_parts(item.get("content"))
    return _block_parts(item)


def tool_definitions(attributes: dict[str, Any], inputs: Any) -> list[dict[str, Any]]:
    """The tools offered to the model: ``mlflow.chat.tools`` (OpenAI form), else the
    request's ``tools``."""
    tools = attributes.get(keys.CHAT_TOOLS)
    if tools is None and isinstance(inputs, dict):
        tools = inputs.get("tools")
    tools = plain(tools)
    found: list[dict[str, Any]] = []
    for tool in tools[:_N] if isinstance(tools, list) else []:
        if not isinstance(tool, dict):
            continue
        spec: dict[str, Any] = tool["function"] if isinstance(tool.get("function"), dict) else tool
        found.append(
            {
                "type": str(tool.get("type") or "function"),
                "name": spec.get("name"),
                "description": spec.get("description"),
                "parameters": spec.get("parameters", spec.get("input_schema")),
                "json_schema": tool,
            }
        )
    return found


def invocation_parameters(attributes: dict[str, Any], inputs: Any) -> dict[str, Any]:
    """The request's settings: its keyword arguments minus the conversation and tools,
    merged with LangChain's ``invocation_params`` / transformers' ``generation_params``."""
    params: dict[str, Any] = {}
    if isinstance(inputs, dict) and ("messages" in inputs or "input" in inputs):
        params.update({k: v for k, v in inputs.items() if k not in _NOT_PARAMETERS})
    for key in ("invocation_params", "generation_params"):
        extra = plain(attributes.get(key))
        if isinstance(extra, dict):
            params.update({k: v for k, v in extra.items() if k not in _NOT_PARAMETERS})
        elif isinstance(extra, str):
            try:
                loaded = json.loads(extra)
            except ValueError:
                continue
            if isinstance(loaded, dict):
                params.update(loaded)
    return params


def usage(attributes: dict[str, Any]) -> dict[str, int]:
    """Token counts from ``mlflow.chat.tokenUsage`` (ints only), with ``prompt_total``:
    the input tokens including cached ones (Anthropic reports them apart)."""
    raw = attributes.get(keys.TOKEN_USAGE)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    if not isinstance(raw, dict):
        return {}
    counts = {
        k: v for k, v in raw.items() if isinstance(v, int) and not isinstance(v, bool) and v >= 0
    }
    if keys.INPUT_TOKENS in counts:
        total = counts[keys.INPUT_TOKENS]
        if attributes.get(keys.PROVIDER) == "anthropic":
            total += counts.get("cache_read_input_tokens", 0)
            total += counts.get("cache_creation_input_tokens", 0)
        counts["prompt_total"] = total
    return counts


# Documents ------------------------------------------------------------------------------
def _document(raw: Any) -> dict[str, Any] | None:
    if isinstance(raw, str):
        return {"content": _text(raw)}
    if not isinstance(raw, dict):
        return None
    content = raw.get("page_content", raw.get("content", raw.get("text")))
    if content is None:
        return None
    doc: dict[str, Any] = {"content": _text(content)}
    metadata = raw.get("metadata")
    ident = raw.get("id", raw.get("doc_id", raw.get("uri", raw.get("doc_uri"))))
    if ident is None and isinstance(metadata, dict):
        ident = metadata.get("doc_uri", metadata.get("id", metadata.get("source")))
    if ident is not None:
        doc["id"] = ident if isinstance(ident, (str, int)) else _text(ident)
    if isinstance(metadata, dict) and metadata:
        doc["metadata"] = metadata
    score = raw.get("score", raw.get("relevance_score"))
    if score is None and isinstance(metadata, dict):
        score = metadata.get("score", metadata.get("relevance_score"))
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        doc["score"] = float(score)
    return doc


def documents(value: Any) -> list[dict[str, Any]]:
    """Documents from a retriever's outputs: a list of LangChain/MLflow documents, of dicts
    with ``page_content``/``content``/``text``, or strings; or ``{"documents": [...]}``."""
    if isinstance(value, dict):
        value = value.get("documents", value.get("results"))
    if not isinstance(value, list):
        return []
    return [d for d in (_document(item) for item in value[:_N]) if d is not None]
