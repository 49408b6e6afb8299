"""Automatic instrumentation of LLM client libraries.

The vendor integrations (OpenAI, Anthropic, LangChain, Transformers) are not part of this
release yet: each ``instrument_*`` function checks that the vendor package is importable and
then raises ``NotImplementedError`` saying so, rather than pretending to trace. Nothing here
imports a vendor package at import time.
"""

from __future__ import annotations

import importlib.util

__all__ = [
    "instrument_anthropic",
    "instrument_langchain",
    "instrument_openai",
    "instrument_transformers",
]


def _not_yet(vendor: str, module: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ImportError(
            f"instrument_{vendor}() needs the '{module}' package, which is not installed"
        )
    raise NotImplementedError(
        f"instrument_{vendor}() is not available in this version of mlflow-trace-nb; "
        "trace the calls with @mlflow_trace_nb.trace meanwhile"
    )


def instrument_openai() -> None:
    """Trace every OpenAI SDK call (not available yet: raises NotImplementedError)."""
    _not_yet("openai", "openai")


def instrument_anthropic() -> None:
    """Trace every Anthropic SDK call (not available yet: raises NotImplementedError)."""
    _not_yet("anthropic", "anthropic")


def instrument_langchain() -> None:
    """Trace LangChain runnables (not available yet: raises NotImplementedError)."""
    _not_yet("langchain", "langchain_core")


def instrument_transformers() -> None:
    """Trace Transformers pipelines (not available yet: raises NotImplementedError)."""
    _not_yet("transformers", "transformers")
