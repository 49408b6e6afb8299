"""What the trace list and the trace detail show about a trace without a kernel: previews of
the root's inputs and outputs, tags, metadata, and the model name of an LLM span.

Previews read like text: a string as it is, a one-key dict as its value, a chat request or
response as its last message's text, anything else as compact JSON; all cut to
``TRACE_PREVIEW_CHARS``. Tags and metadata are capped at ``MAX_TAGS`` entries of
``TAG_CHARS`` characters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlflow_trace_nb import keys
from mlflow_trace_nb.display.chat import chat_messages

if TYPE_CHECKING:
    from mlflow_trace_nb.entities import Span

__all__ = [
    "own_attributes",
    "MAX_TAGS",
    "MODEL_TYPES",
    "TAG_CHARS",
    "TRACE_PREVIEW_CHARS",
    "model_name",
    "preview_text",
    "trace_extras",
]

#: Characters of the request / response preview of a trace.
TRACE_PREVIEW_CHARS = 300
#: Tags and metadata entries per trace, and characters per value.
MAX_TAGS = 100
TAG_CHARS = 500
#: Span types whose model name the tree row shows.
MODEL_TYPES = frozenset({"CHAT_MODEL", "LLM", "EMBEDDING", "RERANKER"})
_MODEL_KEYS = (keys.MODEL, "model", "model_name", "model_id")


def own_attributes(span: Span) -> dict[str, Any]:
    """The attributes a view shows for ``span``: its own, without what the view shows
    elsewhere (token usage) and without ``mlflow.spanFunctionName`` when it is the span's
    name (MLflow records it on every traced function)."""
    attributes = dict(span._raw_attributes or {})
    attributes.pop(keys.TOKEN_USAGE, None)
    if attributes.get(keys.SPAN_FUNCTION_NAME, span) == span.name:
        del attributes[keys.SPAN_FUNCTION_NAME]
    return attributes


def model_name(span: Span) -> str | None:
    """The model of an LLM span: ``mlflow.llm.model``, else a ``model`` / ``model_name`` key
    of its attributes or inputs."""
    for source in ("attributes", "inputs"):
        try:
            value = getattr(span, source)
        except Exception:
            continue
        if not isinstance(value, dict):
            continue
        for key in _MODEL_KEYS:
            found = value.get(key)
            if isinstance(found, str) and found:
                return found[:200]
    return None


def _jsonable(value: Any, live: bool) -> Any:
    if not live:
        return value
    from mlflow_trace_nb._internal.serialization import to_jsonable

    return to_jsonable(value)


def _chat_text(value: Any, output: bool) -> str | None:
    """The last message's text when ``value`` is chat-shaped (an LLM request or response)."""
    try:
        messages = chat_messages(None, value) if output else chat_messages(value, None)
    except Exception:
        return None
    if not messages:
        return None
    parts = [p["t"] for p in messages[-1]["parts"] if p["k"] == "text" and p["t"]]
    return "\n".join(parts) or None


def preview_text(value: Any, live: bool, output: bool = False) -> str | None:
    """``value`` (inputs, or outputs with ``output=True``) as short text; None for None."""
    if value is None:
        return None
    value = _jsonable(value, live)
    if isinstance(value, (dict, list)):
        chat = _chat_text(value, output)
        if chat is not None:
            return chat[:TRACE_PREVIEW_CHARS]
    if isinstance(value, dict) and len(value) == 1:  # {"question": "..."} reads as its value
        (only,) = value.values()
        if isinstance(only, str):
            value = only
    if isinstance(value, str):
        return value[:TRACE_PREVIEW_CHARS]
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except Exception:
        text = str(value)
    return text[:TRACE_PREVIEW_CHARS]


def _capped(mapping: Any) -> dict[str, str]:
    if not mapping:
        return {}
    items = list(mapping.items())[:MAX_TAGS]
    return {str(k)[:TAG_CHARS]: str(v)[:TAG_CHARS] for k, v in items}


def trace_extras(trace: Any, spans: Sequence[Span]) -> dict[str, Any]:
    """``preview_in``, ``preview_out``, ``tags`` and ``metadata`` of a stored or live trace."""
    live = not hasattr(trace, "info")
    root = next((s for s in spans if s.parent_id is None), spans[0] if spans else None)
    extras: dict[str, Any] = {"preview_in": None, "preview_out": None}
    if root is not None:
        try:
            extras["preview_in"] = preview_text(root.inputs, live)
            extras["preview_out"] = preview_text(root.outputs, live, output=True)
        except Exception:  # a value another thread is changing
            pass
    if live:
        tags, metadata = trace.tags, trace.metadata
    else:
        tags, metadata = trace.info._own_tags, trace.info._own_metadata
    extras["tags"] = _capped(tags)
    extras["metadata"] = _capped(metadata)
    return extras
