"""Automatic instrumentation of LLM client libraries.

Each ``instrument_<vendor>()`` patches that vendor's client library so every call becomes a
span, and returns a handle whose ``undo()`` removes the patches (``uninstrument_<vendor>()``
does the same). Calling it twice instruments once. Nothing here imports a vendor package until
its ``instrument_*`` function is called; a missing package raises ``ImportError``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow_trace_nb.instrumentation._patching import Instrumentation

__all__ = [
    "instrument_anthropic",
    "instrument_langchain",
    "instrument_openai",
    "instrument_transformers",
    "uninstrument_anthropic",
    "uninstrument_langchain",
    "uninstrument_openai",
    "uninstrument_transformers",
]


def _instrument(vendor: str) -> Instrumentation:
    module = importlib.import_module(f"mlflow_trace_nb.instrumentation.{vendor}")
    handle: Instrumentation = module.instrument()
    return handle


def _uninstrument(vendor: str) -> bool:
    from mlflow_trace_nb.instrumentation._patching import deactivate

    return deactivate(vendor)


def instrument_openai() -> Instrumentation:
    """Trace every call of the ``openai`` SDK (chat completions, responses, embeddings)."""
    return _instrument("openai")


def instrument_anthropic() -> Instrumentation:
    """Trace every call of the ``anthropic`` SDK (messages, streaming, tool use)."""
    return _instrument("anthropic")


def instrument_langchain() -> Instrumentation:
    """Trace LangChain runnables, chat models, LLMs, retrievers, tools and agents."""
    return _instrument("langchain")


def instrument_transformers() -> Instrumentation:
    """Trace Hugging Face ``transformers`` pipelines and ``generate()`` calls."""
    return _instrument("transformers")


def uninstrument_openai() -> bool:
    """Undo ``instrument_openai()``; False if it was not active."""
    return _uninstrument("openai")


def uninstrument_anthropic() -> bool:
    """Undo ``instrument_anthropic()``; False if it was not active."""
    return _uninstrument("anthropic")


def uninstrument_langchain() -> bool:
    """Undo ``instrument_langchain()``; False if it was not active."""
    return _uninstrument("langchain")


def uninstrument_transformers() -> bool:
    """Undo ``instrument_transformers()``; False if it was not active."""
    return _uninstrument("transformers")
