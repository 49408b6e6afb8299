"""LangChain values in the shapes our spans keep: OpenAI-style chat messages, plain documents,
token usage and model names read from an ``LLMResult``.

Imported only by ``_langchain_handler`` (after ``langchain_core`` is known to be installed).
Every function here is total on well-formed LangChain objects and leaves anything else as is.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.documents import Document
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.prompt_values import ChatPromptValue, PromptValue

from mlflow_trace_nb.instrumentation._schema import token_usage

__all__ = [
    "chat_tools",
    "document_dict",
    "llm_outputs",
    "message_dict",
    "model_name",
    "plain",
    "result_usage",
]

_MAX_CONVERTED_ITEMS = 100  # longer lists are kept as they are (serialisation handles them)


def _role(message: BaseMessage) -> str:
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, ToolMessage):
        return "tool"
    if isinstance(message, FunctionMessage):
        return "function"
    if isinstance(message, ChatMessage):
        return str(message.role)
    return str(message.type)


def message_dict(message: BaseMessage) -> dict[str, Any]:
    """An OpenAI-style ``{"role", "content", ...}`` dict for a LangChain message."""
    out: dict[str, Any] = {"role": _role(message), "content": message.content}
    if message.name:
        out["name"] = message.name
    if isinstance(message, AIMessage) and message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.get("id"),
                "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call["args"])},
            }
            for call in message.tool_calls
        ]
    if isinstance(message, ToolMessage):
        out["tool_call_id"] = message.tool_call_id
    return out


def document_dict(document: Document) -> dict[str, Any]:
    """A retrieved document as ``{"page_content", "metadata", "id"}``."""
    return {"page_content": document.page_content, "metadata": document.metadata, "id": document.id}


def plain(value: Any) -> Any:
    """Messages, prompt values and documents (also inside a list or a dict) as plain dicts."""
    if isinstance(value, BaseMessage):
        return message_dict(value)
    if isinstance(value, ChatPromptValue):
        return [message_dict(m) for m in value.messages]
    if isinstance(value, PromptValue):
        return value.to_string()
    if isinstance(value, Document):
        return document_dict(value)
    if type(value) is list and len(value) <= _MAX_CONVERTED_ITEMS:
        return [_plain_item(item) for item in value]
    if type(value) is dict and len(value) <= _MAX_CONVERTED_ITEMS:
        return {key: _plain_item(item) for key, item in value.items()}
    return value


def _plain_item(value: Any) -> Any:
    if isinstance(value, BaseMessage):
        return message_dict(value)
    if isinstance(value, Document):
        return document_dict(value)
    if isinstance(value, PromptValue):
        return plain(value)
    return value


def chat_tools(tools: Any) -> list[dict[str, Any]] | None:
    """The tools offered to a chat model, as OpenAI-style tool dicts."""
    if not isinstance(tools, (list, tuple)) or not tools:
        return None
    from langchain_core.utils.function_calling import convert_to_openai_tool

    converted = []
    for tool in tools:
        try:
            converted.append(tool if isinstance(tool, dict) else convert_to_openai_tool(tool))
        except Exception:
            converted.append({"type": "function", "function": {"name": str(tool)}})
    return converted


def llm_outputs(response: LLMResult) -> Any:
    """The answer(s): one assistant message or text, else a list per prompt."""
    rows = []
    for generations in response.generations:
        row = [
            message_dict(g.message) if isinstance(g, ChatGeneration) else g.text
            for g in generations
        ]
        rows.append(row[0] if len(row) == 1 else row)
    return rows[0] if len(rows) == 1 else rows


def result_usage(response: LLMResult) -> dict[str, Any] | None:
    """Token usage from ``llm_output`` (OpenAI-style) or the messages' ``usage_metadata``."""
    llm_output = response.llm_output or {}
    reported = llm_output.get("token_usage") or llm_output.get("usage")
    if isinstance(reported, dict):
        usage = token_usage(
            reported.get("prompt_tokens", reported.get("input_tokens")),
            reported.get("completion_tokens", reported.get("output_tokens")),
        )
        if usage is not None:
            return usage
    input_tokens = output_tokens = None
    for generations in response.generations:
        for generation in generations:
            message = getattr(generation, "message", None)
            metadata = getattr(message, "usage_metadata", None)
            if metadata:
                input_tokens = (input_tokens or 0) + int(metadata.get("input_tokens") or 0)
                output_tokens = (output_tokens or 0) + int(metadata.get("output_tokens") or 0)
    return token_usage(input_tokens, output_tokens)


def model_name(response: LLMResult) -> str | None:
    """The model that answered, when the result says."""
    llm_output = response.llm_output or {}
    for key in ("model_name", "model"):
        if isinstance(llm_output.get(key), str):
            return str(llm_output[key])
    for generations in response.generations:
        for generation in generations:
            metadata = getattr(getattr(generation, "message", None), "response_metadata", None)
            if isinstance(metadata, dict):
                for key in ("model_name", "model"):
                    if isinstance(metadata.get(key), str):
                        return str(metadata[key])
    return None
