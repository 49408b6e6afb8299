"""Pausing Python's cyclic garbage collector around building a large result."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while a large result is read and built: its tens of thousands of
    new, acyclic row tuples, dicts and lists would otherwise trigger collections that
    traverse them all again and again (about a third of the time of a 10,000-trace search).
    The GC is left as it was found (a caller that disabled it keeps it disabled).

    The new objects stay in the youngest generation, where the GC's own schedule ages them.
    Moving them straight to the oldest one (``gc.freeze()`` then ``gc.unfreeze()``) saves
    the young collections that find nothing, but objects that reach the oldest generation
    without a collection are never counted toward the next full collection: a loop of
    searches then never runs one, and the process's cyclic garbage is never freed
    (``tests/query/test_frame_rows_reads.py`` checks this in a fresh interpreter)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
