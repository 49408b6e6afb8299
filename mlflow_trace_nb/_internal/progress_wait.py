"""Waiting for work on another thread for as long as it makes progress."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["wait_while_progressing"]


def wait_while_progressing(
    done: threading.Event,
    progress: Callable[[], object],
    timeout: float | None,
    stall_s: float,
) -> bool:
    """Wait for ``done``; give up (False) after ``timeout`` seconds in all, or once
    ``progress()`` (any value that changes as the work advances) has stayed the same for
    ``stall_s`` seconds."""
    start = last_change = time.monotonic()
    seen = progress()
    while not done.wait(min(0.05, stall_s)):
        now = time.monotonic()
        if timeout is not None and now - start >= timeout:
            return False
        current = progress()
        if current != seen:
            seen, last_change = current, now
        elif now - last_change >= stall_s:
            return False
    return True
