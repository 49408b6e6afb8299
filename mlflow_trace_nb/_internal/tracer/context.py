"""The active span, kept in a ``ContextVar`` so threads and asyncio tasks each see their own.

``asyncio`` copies the context into every task, so spans started inside ``gather`` or
``create_task`` nest under the span that was active when the task was created. Plain threads
start with an empty context; ``instrument_threading`` (in ``threading_context``) makes
``ThreadPoolExecutor`` and ``threading.Thread`` carry the submitter's context along.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

__all__ = ["CURRENT_SPAN", "attach", "current_span", "detach", "untraced", "untraced_thread"]

#: The span code is running under: a LiveSpan, the shared no-op span (inside an unsampled
#: trace), or None outside any trace.
CURRENT_SPAN: ContextVar[Any] = ContextVar("mlflow_trace_nb_current_span", default=None)


def current_span() -> Any:
    """Return the active recording span (a ``live_span.LiveSpan``), or None."""
    span = CURRENT_SPAN.get()
    return span if span is not None and span._recording else None


def attach(span: Any) -> Token[Any]:
    """Make ``span`` the active span; return the token that undoes it."""
    return CURRENT_SPAN.set(span)


def detach(token: Token[Any], fallback: Any) -> None:
    """Undo ``attach``. If the token belongs to another context (a generator resumed
    elsewhere), set ``fallback`` instead of raising."""
    try:
        CURRENT_SPAN.reset(token)
    except ValueError:
        CURRENT_SPAN.set(fallback)


#: ``live_span.NO_OP_SPAN``, registered by that module (it imports this one): as the active
#: span, every span started under it records nothing.
NOTHING_RECORDED: list[Any] = []


@contextmanager
def untraced() -> Iterator[None]:
    """Record nothing inside: for this package's own calls into user code (an exception's
    ``__str__``, an object's ``__repr__``) that may be traced themselves, which would
    otherwise make traces the user never started."""
    token = CURRENT_SPAN.set(NOTHING_RECORDED[0])
    try:
        yield
    finally:
        detach(token, None)


def untraced_thread() -> None:
    """Record nothing on the calling thread from now on (the first call of this package's
    writer, sender and retry threads: what they run is never the user's work)."""
    CURRENT_SPAN.set(NOTHING_RECORDED[0])
