"""Pausing Python's cyclic garbage collector around building a large result."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused(*, then_old: bool = False) -> Iterator[None]:
    """Pause the cyclic GC while a large result is read and built: its tens of thousands of
    new, acyclic row tuples, dicts and lists would otherwise trigger collections that
    traverse them all again and again (about a third of the time of a 10,000-trace search).
    The GC is left as it was found (a caller that disabled it keeps it disabled).

    ``then_old``: instead of leaving the new objects in the youngest generation, move them
    to the oldest one. A 10,000-trace ``search_traces`` frame holds about 110,000 new
    GC-tracked lists and dicts (each span's events and links, the span dicts...). Left
    young, the first allocation after the pause collects them all (about 45 ms, a tenth of
    the search) and again when they reach the middle generation, to find nothing: none is
    garbage. ``gc.freeze()`` then ``gc.unfreeze()`` moves every tracked object to the oldest
    generation without traversing any, so full collections still see them, as they see any
    long-lived object; the other young objects of the process wait for the next full
    collection too. Skipped when the process keeps frozen objects of its own (``gc.freeze``
    before a fork), which ``unfreeze`` would release."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if then_old and gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
