"""``LiveTrace``: the spans of one trace, collected in memory while it is recorded (until its
root span ends and it is handed to the write-behind queue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlflow_trace_nb._internal.tracer import ids

if TYPE_CHECKING:
    from mlflow_trace_nb._internal.tracer.capture import ExceptionRecord
    from mlflow_trace_nb._internal.tracer.live_span import LiveSpan
    from mlflow_trace_nb.entities import Trace

__all__ = ["LiveTrace"]


class LiveTrace:
    """The spans of one trace while it is being recorded."""

    __slots__ = (
        "_request_id",
        "_trace_id",
        "closed",
        "dropped_spans",
        "experiment_id",
        "generation",
        "last_exception",
        "last_record",
        "metadata",
        "remote_parent_id",
        "root",
        "spans",
        "tags",
    )
    #: Bumped in a forked child: a trace of another ``generation`` was begun by the parent
    #: process (copied by fork), which alone writes it.
    process_generation = 0

    def __init__(
        self,
        experiment_id: str,
        trace_id: int | None = None,
        remote_parent_id: str | None = None,
    ) -> None:
        self._trace_id = trace_id  # drawn on first read, from the root's start time
        self._request_id: str | None = None
        self.experiment_id = experiment_id
        self.spans: list[LiveSpan] = []
        self.root: LiveSpan | None = None
        self.tags: dict[str, str] | None = None  # created on first use: fewer GC objects
        self.metadata: dict[str, str] | None = None
        self.closed = False
        self.remote_parent_id = remote_parent_id
        self.generation = self.process_generation
        # Unset until needed (read with getattr; a shorter hot path): spans not recorded (span
        # limit), and the last exception recorded, described once however deep it goes.
        self.dropped_spans: int
        self.last_exception: BaseException | None
        self.last_record: ExceptionRecord | None

    @property
    def request_id(self) -> str:
        """``tr-`` + 32 hex digits (formatted on first read, not on the hot path)."""
        request_id = self._request_id
        if request_id is None:
            request_id = self._request_id = ids.format_request_id(self.trace_id_int)
        return request_id

    @property
    def trace_id_int(self) -> int:
        """The 128-bit trace id: drawn when first needed (off the hot path), its time prefix
        taken from the root span's start, so ids still sort by trace start."""
        trace_id = self._trace_id
        if trace_id is None:
            root = self.root
            start_ns = root.start_time_ns if root is not None else None
            trace_id = self._trace_id = ids.new_trace_id(start_ns)
        return trace_id

    def set_tag(self, key: str, value: str) -> None:
        """Set a trace tag (string to string)."""
        if self.tags is None:
            self.tags = {}
        self.tags[str(key)] = str(value)

    def set_metadata(self, key: str, value: str) -> None:
        """Set a request-metadata entry (string to string)."""
        if self.metadata is None:
            self.metadata = {}
        self.metadata[str(key)] = str(value)

    def to_trace(self) -> Trace:
        """Build a read-only ``Trace`` from the spans recorded so far (payloads JSON-safe)."""
        from mlflow_trace_nb.store.rows import trace_rows
        from mlflow_trace_nb.store.trace_builder import build_trace, pack_span_row

        rows = trace_rows(self)
        return build_trace(rows.trace, [pack_span_row(r) for r in rows.spans])
