"""Building a large query result with the cyclic GC paused, the result then handed to the
oldest generation instead of the youngest."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_then_old"]


@contextmanager
def paused_then_old() -> Iterator[None]:
    """Pause the cyclic GC while a result is built (as ``gc_pause.gc_paused``), then, instead
    of leaving the new objects in the youngest generation, move them to the oldest one.

    A 10,000-trace ``search_traces`` frame holds about 110,000 new GC-tracked lists and dicts
    (each span's events and links, the span dicts...). Left young, the first allocation after
    the pause collects them all (about 45 ms, a tenth of the search) and again when they
    reach the middle generation, to find nothing: none is garbage. ``gc.freeze()`` then
    ``gc.unfreeze()`` moves every tracked object to the oldest generation without traversing
    any, so full collections still see them, as they see any long-lived object; the other
    young objects of the process wait for the next full collection too. Skipped when the
    process keeps frozen objects of its own (``gc.freeze`` before a fork), which
    ``unfreeze`` would release, and when the GC was disabled already (left as found)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
