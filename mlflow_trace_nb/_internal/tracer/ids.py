"""Trace and span ids: random integers on the hot path, formatted as hex only when read.

Span ids are 64-bit and trace ids 128-bit, as in OpenTelemetry and W3C trace context.
A trace id starts with the millisecond clock (48 bits) followed by 80 random bits, like a
ULID or AWS X-Ray id: ids sort by creation time, so the store's B-trees grow at their right
edge (about twice as fast to insert into as random keys), and 80 random bits keep ids
unique across processes and machines.
A trace's public id (``request_id``) is ``"tr-"`` + 32 hex digits, as in MLflow 3.
``random`` reseeds itself in a forked child, so processes never share a sequence.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

__all__ = [
    "format_request_id",
    "format_span_id",
    "new_span_id",
    "new_trace_id",
    "parse_request_id",
    "use_seed",
]

_getrandbits: Callable[[int], int] = random.getrandbits


def new_span_id() -> int:
    """Return a fresh non-zero 64-bit span id."""
    return _getrandbits(64) or 1


def new_trace_id(start_time_ns: int | None = None) -> int:
    """Return a fresh 128-bit trace id: 48 bits of milliseconds (of ``start_time_ns``, or
    now), then 80 random bits."""
    now_ns = time.time_ns() if start_time_ns is None else start_time_ns
    return (now_ns // 1_000_000) << 80 | _getrandbits(80)


def format_span_id(span_id: int) -> str:
    """Format a span id as 16 lowercase hex digits."""
    return f"{span_id:016x}"


def format_request_id(trace_id: int) -> str:
    """Format a trace id as ``tr-`` + 32 lowercase hex digits."""
    return f"tr-{trace_id:032x}"


def parse_request_id(request_id: str) -> int:
    """Return the 128-bit trace id inside ``tr-<hex>`` (or bare hex); ValueError if malformed."""
    text = request_id[3:] if request_id.startswith("tr-") else request_id
    if len(text) != 32:
        raise ValueError(f"not a trace id: {request_id!r} (expected 'tr-' + 32 hex digits)")
    return int(text, 16)


def use_seed(seed: int | None) -> None:
    """Make ids deterministic (for tests); ``None`` goes back to the process-wide generator."""
    global _getrandbits
    _getrandbits = random.getrandbits if seed is None else random.Random(seed).getrandbits
