"""What waits while the store cannot write, and the counters ``SqliteStore.health()`` reports.

When a write fails for a transient reason (locked, disk full, I/O error, read-only, a damaged
file being replaced), its rows, already serialised, wait here and are written, in order, as
soon as a retry succeeds. The backlog is bounded twice, in spans (``MAX_BACKLOG_SPANS``) and
in characters of serialised text (``MAX_BACKLOG_CHARS``, about the bytes it holds); past
either bound the *oldest* waiting traces are dropped (the most recent ones are usually what
the user is looking at) and counted in ``dropped_spans``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from mlflow_trace_nb.store.rows import SpanRow, TraceRows

__all__ = ["MAX_BACKLOG_CHARS", "MAX_BACKLOG_SPANS", "Backlog", "StoreHealth"]

#: Most spans kept waiting for the store to come back.
MAX_BACKLOG_SPANS = 50_000
#: Most characters of serialised rows kept waiting (payload JSON included).
MAX_BACKLOG_CHARS = 100_000_000

_ROW_OVERHEAD = 200  # ids, timestamps, names: a rough per-row size


@dataclass(frozen=True)
class StoreHealth:
    """A snapshot of the store's counters (``SqliteStore.health()``).

    ``state`` is ``"ok"``, ``"retrying"`` (writes are failing; ``pending_spans`` wait) or
    ``"memory"`` (the path could never be opened; traces live in this process only).
    ``dropped_spans`` were lost to backlog overflow or to a fault that outlived the process;
    ``rejected_spans`` carried a value the database refused even after cleaning (should be
    0). ``moved_aside`` lists damaged files this process renamed to ``*.corrupt-<time>``.
    """

    path: str
    state: str
    written_traces: int
    written_spans: int
    pending_spans: int
    dropped_spans: int
    rejected_spans: int
    last_error: str | None
    last_error_at: float | None
    moved_aside: tuple[str, ...]


def _size(item: TraceRows | SpanRow) -> tuple[int, int]:
    """(spans, chars) of one waiting item."""
    if isinstance(item, TraceRows):
        rows = item.spans
        chars = _root_chars(item.trace) if item.root else 0
    else:
        rows, chars = [item], 0
    for row in rows:
        chars += _ROW_OVERHEAD
        for value in row[9:13]:
            if type(value) is str:
                chars += len(value)
    return len(rows) + (isinstance(item, TraceRows) and item.root), chars


def _root_chars(row: tuple[Any, ...]) -> int:
    """Characters of the root span's payloads in a ``traces`` row (see ``ROOT_COLUMNS``)."""
    chars = _ROW_OVERHEAD
    for value in (row[6], row[7], row[15], row[16]):
        if type(value) is str:
            chars += len(value)
    return chars


class Backlog:
    """Serialised traces and late spans waiting to be written, oldest first, bounded."""

    def __init__(
        self, max_spans: int = MAX_BACKLOG_SPANS, max_chars: int = MAX_BACKLOG_CHARS
    ) -> None:
        self.max_spans = max_spans
        self.max_chars = max_chars
        self._items: deque[tuple[Any, int, int]] = deque()  # (item, spans, chars)
        self.spans = 0
        self.chars = 0

    def __bool__(self) -> bool:
        return bool(self._items)

    def add(self, traces: list[TraceRows], late: list[SpanRow]) -> int:
        """Append a batch; return how many spans overflow dropped (oldest first)."""
        items: list[TraceRows | SpanRow] = [*traces, *late]
        for item in items:
            spans, chars = _size(item)
            self._items.append((item, spans, chars))
            self.spans += spans
            self.chars += chars
        dropped = 0
        while self._items and (self.spans > self.max_spans or self.chars > self.max_chars):
            _, spans, chars = self._items.popleft()
            self.spans -= spans
            self.chars -= chars
            dropped += spans
        return dropped

    def peek(self, max_traces: int) -> tuple[list[TraceRows], list[SpanRow], int]:
        """The oldest items (up to ``max_traces``): traces, late spans, and how many items."""
        traces: list[TraceRows] = []
        late: list[SpanRow] = []
        count = 0
        for item, _, _ in self._items:
            if count >= max_traces:
                break
            (traces if isinstance(item, TraceRows) else late).append(item)
            count += 1
        return traces, late, count

    def pop(self, count: int) -> None:
        """Remove the ``count`` oldest items (written)."""
        for _ in range(min(count, len(self._items))):
            _, spans, chars = self._items.popleft()
            self.spans -= spans
            self.chars -= chars

    def clear(self) -> int:
        """Forget everything; return how many spans that was."""
        spans = self.spans
        self._items.clear()
        self.spans = self.chars = 0
        return spans
