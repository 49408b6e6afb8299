"""Whole traces: ``Trace`` = ``TraceInfo`` (summary) + ``TraceData`` (spans)."""

from __future__ import annotations

import json
import re
from typing import Any

from mlflow_trace_nb.entities.span import Span

#: How Jupyter shows a ``Trace``: set by ``display.bundle`` (``[trace_bundle]``).
MIMEBUNDLE_HOOKS: list[Any] = []

__all__ = ["Trace", "TraceData", "TraceInfo"]


class TraceInfo:
    """A trace's summary: id, experiment, timing, status, tags and metadata."""

    __slots__ = (
        "execution_time_ms",
        "experiment_id",
        "name",
        "request_id",
        "request_metadata",
        "status",
        "tags",
        "timestamp_ms",
    )

    def __init__(
        self,
        *,
        request_id: str,
        experiment_id: str,
        timestamp_ms: int,
        execution_time_ms: int | None,
        status: str,
        request_metadata: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        name: str | None = None,
    ) -> None:
        self.request_id = request_id
        self.experiment_id = experiment_id
        self.timestamp_ms = timestamp_ms
        self.execution_time_ms = execution_time_ms
        self.status = status
        self.request_metadata = request_metadata if request_metadata is not None else {}
        self.tags = tags if tags is not None else {}
        self.name = name

    @property
    def trace_id(self) -> str:
        """Alias of ``request_id`` (MLflow 3 naming)."""
        return self.request_id

    @property
    def state(self) -> str:
        """Alias of ``status`` (MLflow 3 naming)."""
        return self.status

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as a plain dict."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self) -> str:
        return f"TraceInfo(request_id={self.request_id!r}, status={self.status!r})"


class TraceData:
    """A trace's spans, plus its request and response (the root span's inputs and outputs)."""

    __slots__ = ("_request", "_response", "spans")

    def __init__(
        self, spans: list[Span], request: str | None = None, response: str | None = None
    ) -> None:
        self.spans = spans
        self._request = request
        self._response = response

    @property
    def root(self) -> Span | None:
        """The span without a parent (the first one if several); in a trace continued from
        another process and stored apart, the first span whose parent is not in the trace."""
        root = next((s for s in self.spans if s.parent_id is None), None)
        if root is None and self.spans:
            span_ids = {s.span_id for s in self.spans}
            root = next((s for s in self.spans if s.parent_id not in span_ids), None)
        return root

    @property
    def request(self) -> str | None:
        """The root span's inputs as JSON text, as MLflow's ``TraceData.request``."""
        if self._request is None:
            root = self.root
            return None if root is None else json.dumps(root.inputs, ensure_ascii=False)
        return self._request

    @property
    def response(self) -> str | None:
        """The root span's outputs as JSON text, as MLflow's ``TraceData.response``."""
        if self._response is None:
            root = self.root
            return None if root is None else json.dumps(root.outputs, ensure_ascii=False)
        return self._response


class Trace:
    """A whole trace: ``info`` (summary) and ``data`` (spans).

    The summary fields are also reachable directly (``trace.request_id``, ``trace.status``,
    ``trace.spans``...) as in the reference API.
    """

    __slots__ = ("data", "info")

    def __init__(self, info: TraceInfo, data: TraceData) -> None:
        self.info = info
        self.data = data

    request_id = property(lambda self: self.info.request_id, doc="The trace's id.")
    trace_id = property(lambda self: self.info.request_id, doc="Alias of ``request_id``.")
    experiment_id = property(lambda self: self.info.experiment_id, doc="Experiment id.")
    timestamp_ms = property(lambda self: self.info.timestamp_ms, doc="Start, ms since epoch.")
    execution_time_ms = property(lambda self: self.info.execution_time_ms, doc="Duration, ms.")
    status = property(lambda self: self.info.status, doc="The root span's status.")
    request_metadata = property(lambda self: self.info.request_metadata, doc="Metadata.")
    tags = property(lambda self: self.info.tags, doc="Tags (string to string).")
    name = property(lambda self: self.info.name, doc="The root span's name.")

    @property
    def spans(self) -> list[Span]:
        """Every span of the trace, in start order."""
        return self.data.spans

    def search_spans(
        self, span_type: str | None = None, name: str | re.Pattern[str] | None = None
    ) -> list[Span]:
        """Return the spans matching a type and/or a name (string or compiled regex)."""
        found = []
        for span in self.data.spans:
            if span_type is not None and span.span_type != span_type:
                continue
            if isinstance(name, re.Pattern):
                if not name.search(span.name):
                    continue
            elif name is not None and span.name != name:
                continue
            found.append(span)
        return found

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"info": {...}, "spans": [...]}`` with plain values."""
        return {"info": self.info.to_dict(), "spans": [s.to_dict() for s in self.data.spans]}

    def to_json(self) -> str:
        """Return ``to_dict()`` as JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """Jupyter shows a ``Trace`` as the span-tree widget (static HTML fallback); the view
        is registered by ``display.bundle`` (imported with the package), so entities import
        nothing above them."""
        hook = MIMEBUNDLE_HOOKS[0] if MIMEBUNDLE_HOOKS else None
        if hook is None:
            return {"text/plain": repr(self)}
        bundle: dict[str, Any] = hook([self])
        return bundle

    def __repr__(self) -> str:
        return (
            f"Trace(request_id={self.request_id!r}, name={self.name!r}, "
            f"status={self.status!r}, spans={len(self.data.spans)})"
        )
