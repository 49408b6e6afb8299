"""``instrument_langchain()``: every LangChain run becomes a span, without passing callbacks.

LangChain builds a callback manager for every run with ``CallbackManager.configure`` (sync)
or ``AsyncCallbackManager.configure`` (async). Both are wrapped (through the shared patching
mechanism, so ``undo()`` restores them) to add our ``SpanCallbackHandler`` as an inheritable
handler: child runs inherit it, and runs built from a config that already carries it are not
given a second one. The sync and the async manager get different handler instances (over the
same run table) because only sync runs may make their span the active one; see
``_langchain_handler``.

Nothing here imports ``langchain_core`` until ``instrument()`` runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlflow_trace_nb.errors import report_internal_error
from mlflow_trace_nb.instrumentation._patching import Instrumentation, activate

if TYPE_CHECKING:
    from mlflow_trace_nb.instrumentation._langchain_handler import SpanCallbackHandler

__all__ = ["instrument"]

NAME = "langchain"


def instrument() -> Instrumentation:
    """Trace LangChain runnables, chat models, LLMs, retrievers, tools and agents.

    Runs nest by their parent run; a top-level run nests under the active span::

        mlflow.tracing.instrument_langchain()
        with mlflow.start_span("answer"):
            chain.invoke({"topic": "tracing"})   # chain -> prompt, model, parser spans
    """
    return activate(NAME, _install)


def _install(handle: Instrumentation) -> None:
    from langchain_core.callbacks.manager import AsyncCallbackManager, CallbackManager

    from mlflow_trace_nb.instrumentation._langchain_handler import RunSpans, SpanCallbackHandler

    runs = RunSpans(lambda: handle.active)
    sync_handler = SpanCallbackHandler(runs, sync=True)
    async_handler = SpanCallbackHandler(runs, sync=False)
    handle.wrap(CallbackManager, "configure", lambda original: _wrap(original, sync_handler))
    handle.wrap(AsyncCallbackManager, "configure", lambda original: _wrap(original, async_handler))


def _wrap(original: Any, handler: SpanCallbackHandler) -> classmethod[Any, Any, Any]:
    """A ``configure`` classmethod that adds ``handler`` to the manager it returns."""
    func = original.__func__

    def configure(cls: Any, *args: Any, **kwargs: Any) -> Any:
        manager = func(cls, *args, **kwargs)
        try:
            _add_handler(manager, handler)
        except Exception:
            report_internal_error("adding the LangChain span handler")
        return manager

    configure.__doc__ = func.__doc__
    configure.__name__ = func.__name__
    configure.__qualname__ = func.__qualname__
    configure.__wrapped__ = func  # type: ignore[attr-defined]
    return classmethod(configure)


def _add_handler(manager: Any, handler: SpanCallbackHandler) -> None:
    """Make ``handler`` the manager's one span handler (inheritable)."""
    from mlflow_trace_nb.instrumentation._langchain_handler import SpanCallbackHandler

    present = False
    for existing in list(manager.handlers) + list(manager.inheritable_handlers):
        if existing is handler:
            present = True
        elif isinstance(existing, SpanCallbackHandler):
            manager.remove_handler(existing)  # the other mode's, or an undone handle's
    if not present:
        manager.add_handler(handler, inherit=True)
