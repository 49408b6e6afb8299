"""Trace and span ids: random integers on the hot path, formatted as hex only when read.

Span ids are 64-bit and trace ids 128-bit, as in OpenTelemetry and W3C trace context.
A trace id starts with the millisecond clock (48 bits) followed by 80 random bits, like a
ULID or AWS X-Ray id: ids sort by creation time, so the store's B-trees grow at their right
edge (about twice as fast to insert into as random keys), and 80 random bits keep ids
unique across processes and machines.
A trace's public id (``request_id``) is ``"tr-"`` + 32 hex digits, as in MLflow 3.
Ids come from a generator of this package's own, seeded from ``os.urandom`` and reseeded
in a forked child (so processes never share a sequence), never from the ``random`` module's:
a user's ``random.seed(...)`` (the usual reproducibility step in ML code) would make ids
repeat, so traces and spans overwrite each other, and every id drawn would shift the user's
own random sequence.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable

__all__ = [
    "format_request_id",
    "format_span_id",
    "new_span_id",
    "new_trace_id",
    "parse_request_id",
    "random_fraction",
    "use_seed",
]

_generator = random.Random()  # seeded from os.urandom
_getrandbits: Callable[[int], int] = _generator.getrandbits
#: A float in [0, 1) from the same private generator (head sampling).
random_fraction: Callable[[], float] = _generator.random


#: The seed ``use_seed`` set, if any (a forked child derives its own from it and its pid).
_seed: int | None = None


def _reseed_in_child() -> None:
    global _getrandbits
    _generator.seed()
    if _seed is not None:  # deterministic per child, but no two children share a sequence
        _getrandbits = random.Random(f"{_seed}/{os.getpid()}").getrandbits


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed_in_child)


def new_span_id() -> int:
    """Return a fresh non-zero 64-bit span id."""
    return _getrandbits(64) or 1


#: The id's 48 bits of milliseconds (a time past the year 10889 wraps, never widens the id).
_MS_MASK = (1 << 48) - 1


def new_trace_id(start_time_ns: int | None = None) -> int:
    """Return a fresh 128-bit trace id: 48 bits of milliseconds (of ``start_time_ns``, or
    now), then 80 random bits."""
    now_ns = time.time_ns() if start_time_ns is None else start_time_ns
    return ((now_ns // 1_000_000) & _MS_MASK) << 80 | _getrandbits(80)


def format_span_id(span_id: int) -> str:
    """Format a span id as 16 lowercase hex digits."""
    return f"{span_id:016x}"


def format_request_id(trace_id: int) -> str:
    """Format a trace id as ``tr-`` + 32 lowercase hex digits (an int outside 128 bits as
    its hex, whatever its length)."""
    if 0 <= trace_id < _TRACE_ID_END:  # bytes.hex is twice as fast as a 32-digit format
        return "tr-" + trace_id.to_bytes(16, "big").hex()
    return f"tr-{trace_id:032x}"


_TRACE_ID_END = 1 << 128


def parse_request_id(request_id: str) -> int:
    """Return the 128-bit trace id inside ``tr-<hex>`` (or bare hex); ValueError if malformed."""
    text = request_id[3:] if request_id.startswith("tr-") else request_id
    if len(text) != 32:
        raise ValueError(f"not a trace id: {request_id!r} (expected 'tr-' + 32 hex digits)")
    return int(text, 16)


def use_seed(seed: int | None) -> None:
    """Make ids deterministic (for tests); ``None`` goes back to the package's own generator.
    A process forked afterwards draws from a sequence of its own, seeded from ``seed`` and
    its pid."""
    global _getrandbits, _seed
    _seed = seed
    _getrandbits = _generator.getrandbits if seed is None else random.Random(seed).getrandbits
