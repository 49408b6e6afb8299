"""The span attributes every integration writes, in one documented schema (MLflow's keys).

- ``mlflow.chat.tokenUsage``: ``{"input_tokens": int, "output_tokens": int,
  "total_tokens": int}`` (plus ``cache_read_input_tokens`` /
  ``cache_creation_input_tokens`` when the vendor reports them).
- ``mlflow.llm.model``: the model name the vendor answered with (else the one requested).
- ``mlflow.llm.provider``: ``"openai"``, ``"anthropic"``, ``"langchain"``, ``"transformers"``.
- ``mlflow.chat.tools``: the tools offered to a chat model (see ``set_span_chat_tools``).
- ``mlflow.message.format``: the vendor's message format (``"openai"``, ``"anthropic"``, ...).

The notebook view sums ``mlflow.chat.tokenUsage`` per trace and per subtree.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "token_usage",
]


def token_usage(
    input_tokens: int | None, output_tokens: int | None, **extra: int | None
) -> dict[str, Any] | None:
    """The ``mlflow.chat.tokenUsage`` value, or None when the vendor reported nothing."""
    if input_tokens is None and output_tokens is None:
        return None
    usage: dict[str, Any] = {
        "input_tokens": int(input_tokens or 0),
        "output_tokens": int(output_tokens or 0),
        "total_tokens": int(input_tokens or 0) + int(output_tokens or 0),
    }
    usage.update({k: int(v) for k, v in extra.items() if v is not None})
    return usage
