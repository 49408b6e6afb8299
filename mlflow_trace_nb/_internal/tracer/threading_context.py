"""Carry the active span into worker threads: ``instrument_threading()``.

Threads start with an empty ``contextvars`` context, so a span opened in a function submitted
to a ``ThreadPoolExecutor`` would start a new trace instead of nesting under the span that
submitted it. ``instrument_threading()`` patches ``ThreadPoolExecutor.submit`` and
``threading.Thread.start`` so the work runs in a copy of the submitter's context. It is
opt-in (one call), idempotent, and undone by ``handle.undo()`` or ``uninstrument_threading()``.
"""

from __future__ import annotations

import contextvars
import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["ThreadingHandle", "instrument_threading", "uninstrument_threading"]

_original_submit = ThreadPoolExecutor.submit
_original_start = threading.Thread.start
_installed = False


class ThreadingHandle:
    """Returned by ``instrument_threading``; ``undo()`` removes the patch."""

    def undo(self) -> None:
        """Restore the original ``submit``/``start``."""
        uninstrument_threading()


def _submit(self: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    context = contextvars.copy_context()
    return _original_submit(self, context.run, fn, *args, **kwargs)


def _start(self: threading.Thread) -> None:
    context = contextvars.copy_context()
    run = self.run
    self.run = functools.partial(context.run, run)  # type: ignore[method-assign]
    _original_start(self)


def instrument_threading() -> ThreadingHandle:
    """Make ``ThreadPoolExecutor`` work and new ``threading.Thread``s nest under the span that
    was active when they were submitted/started.

    Example::

        mlflow.tracing.instrument_threading()
        with mlflow.start_span("fan-out"):
            with ThreadPoolExecutor() as pool:
                list(pool.map(call_llm, prompts))  # each call nests under "fan-out"
    """
    global _installed
    if not _installed:
        ThreadPoolExecutor.submit = _submit  # type: ignore[method-assign,assignment]
        threading.Thread.start = _start  # type: ignore[method-assign]
        _installed = True
    return ThreadingHandle()


def uninstrument_threading() -> None:
    """Undo ``instrument_threading`` (no-op if it was not installed)."""
    global _installed
    if _installed:
        ThreadPoolExecutor.submit = _original_submit  # type: ignore[method-assign]
        threading.Thread.start = _original_start  # type: ignore[method-assign]
        _installed = False
