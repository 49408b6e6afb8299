"""Fork hooks held weakly: ``os.register_at_fork`` keeps its callables for the life of the
process, so a hook holding its object strongly would keep every worker or store ever made
alive."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable

__all__ = ["register_fork_hook"]


def _weak(method: Callable[[], None] | None) -> Callable[[], None] | None:
    if method is None:
        return None
    ref = weakref.WeakMethod(method)

    def call() -> None:
        bound = ref()
        if bound is not None:
            bound()

    return call


def register_fork_hook(
    method: Callable[[], None] | None = None,
    *,
    before: Callable[[], None] | None = None,
    after_in_parent: Callable[[], None] | None = None,
) -> None:
    """Run the bound ``method`` in forked children (and the bound ``before`` in the forking
    process before each fork, ``after_in_parent`` after it) while its object lives."""
    if not hasattr(os, "register_at_fork"):
        return
    hooks = {
        "before": _weak(before),
        "after_in_parent": _weak(after_in_parent),
        "after_in_child": _weak(method),
    }
    os.register_at_fork(**{k: v for k, v in hooks.items() if v is not None})
