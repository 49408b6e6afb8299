"""Read-only records of finished work: Trace, Span, SpanContext, SpanEvent, Experiment.

A ``Span`` read back from a store keeps its JSON columns as text and decodes each one the
first time it is asked for, so building a DataFrame of ten thousand traces does not parse
payloads nobody looks at. The live, mutable span handed to user code while it runs is
``mlflow_trace_nb.live_span.LiveSpan``, a subclass with the same read interface.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mlflow_trace_nb.store.decoding import decode_json as loads

__all__ = [
    "Experiment",
    "Span",
    "SpanContext",
    "SpanEvent",
    "Trace",
    "TraceData",
    "TraceInfo",
]


class SpanContext:
    """Identifiers of a span: its own id and the id of the trace it belongs to."""

    __slots__ = ("span_id", "trace_id")

    def __init__(self, span_id: str, trace_id: str) -> None:
        self.span_id = span_id
        self.trace_id = trace_id

    def __repr__(self) -> str:
        return f"SpanContext(span_id={self.span_id!r}, trace_id={self.trace_id!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SpanContext)
            and other.span_id == self.span_id
            and other.trace_id == self.trace_id
        )

    def __hash__(self) -> int:
        return hash((self.span_id, self.trace_id))


class SpanEvent:
    """A point in time inside a span (an exception, a retry, a streamed chunk)."""

    __slots__ = ("attributes", "name", "timestamp_ns")

    def __init__(
        self, name: str, timestamp_ns: int, attributes: dict[str, Any] | None = None
    ) -> None:
        self.name = name
        self.timestamp_ns = timestamp_ns
        self.attributes: dict[str, Any] = attributes if attributes is not None else {}

    def to_dict(self) -> dict[str, Any]:
        """Return the event as a plain dict."""
        return {"name": self.name, "timestamp_ns": self.timestamp_ns, "attributes": self.attributes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpanEvent:
        """Build an event from ``to_dict`` output."""
        return cls(
            str(data.get("name", "")),
            int(data.get("timestamp_ns") or 0),
            dict(data.get("attributes") or {}),
        )

    def __repr__(self) -> str:
        return f"SpanEvent(name={self.name!r}, timestamp_ns={self.timestamp_ns})"


class Span:
    """One unit of work inside a trace, as recorded (read-only).

    Attributes mirror MLflow's ``Span``: ``name``, ``context`` (span_id, trace_id),
    ``parent_id``, ``start_time_ns``, ``end_time_ns``, ``status_code``, ``status_message``,
    ``attributes``, ``events``, ``span_type``, ``inputs``, ``outputs``.

    A stored span is its ``spans`` row and nothing else until a payload is read: building
    one is a single assignment, and each JSON column is decoded the first time it is asked
    for (then cached in its slot).
    """

    __slots__ = ("_attributes", "_events", "_inputs", "_outputs", "_row")

    _row: tuple[Any, ...]

    def __init__(
        self,
        *,
        name: str,
        span_id: str,
        trace_id: str,
        parent_id: str | None,
        span_type: str | None,
        start_time_ns: int,
        end_time_ns: int | None,
        status_code: str,
        status_message: str = "",
        inputs: Any = None,
        outputs: Any = None,
        attributes: dict[str, Any] | None = None,
        events: list[SpanEvent] | None = None,
    ) -> None:
        self._row = (
            trace_id,
            span_id,
            parent_id,
            name,
            span_type,
            start_time_ns,
            end_time_ns,
            status_code,
            status_message,
        )
        self._inputs = inputs
        self._outputs = outputs
        self._attributes = attributes if attributes is not None else {}
        self._events = events if events is not None else []

    @classmethod
    def _from_row(cls, row: tuple[Any, ...]) -> Span:
        """A span over a ``spans`` row (columns in ``store.rows.SPAN_COLUMNS`` order)."""
        span = cls.__new__(cls)
        span._row = row
        return span

    # Fields (LiveSpan replaces these with writable slots) ------------------------------
    @property
    def name(self) -> str:
        """The span's name."""
        return str(self._row[3])

    @property
    def span_type(self) -> str | None:
        """The span's type (a ``SpanType`` value)."""
        value: str | None = self._row[4]
        return value

    @property
    def start_time_ns(self) -> int:
        """Start, in ns since the epoch."""
        return int(self._row[5])

    @property
    def end_time_ns(self) -> int | None:
        """End, in ns since the epoch; None while the span runs."""
        value: int | None = self._row[6]
        return value

    @property
    def status_code(self) -> str:
        """OK, ERROR, CANCELLED, TIMEOUT, or UNSET while running."""
        return str(self._row[7])

    @property
    def status_message(self) -> str:
        """A short description of the status (the exception message for ERROR)."""
        return str(self._row[8] or "")

    @property
    def span_id(self) -> str:
        """This span's 16-hex-digit id."""
        return str(self._row[1])

    @property
    def trace_id(self) -> str:
        """The id of the trace this span belongs to (``tr-`` + 32 hex digits)."""
        return str(self._row[0])

    @property
    def request_id(self) -> str:
        """Alias of ``trace_id`` (MLflow 2 naming)."""
        return self.trace_id

    @property
    def parent_id(self) -> str | None:
        """The parent span's id, or None for a root span."""
        value: str | None = self._row[2]
        return value

    @property
    def context(self) -> SpanContext:
        """``SpanContext(span_id, trace_id)``."""
        return SpanContext(self.span_id, self.trace_id)

    # Payloads (decoded on first read) --------------------------------------------------
    def _decode_payloads(self) -> None:
        """Decode ``_row[9]`` (``[inputs, outputs, attributes, events]`` packed in one JSON
        array by the store) into the four payload slots at once."""
        row = self._row
        packed = loads(row[9]) if len(row) > 9 else None
        if not isinstance(packed, list) or len(packed) != 4:
            packed = [None, None, {}, []]
        inputs, outputs, attributes, events = packed
        self._inputs = inputs
        self._outputs = outputs
        self._attributes = attributes if isinstance(attributes, dict) else {}
        raw = events if isinstance(events, list) else []
        self._events = [SpanEvent.from_dict(e) for e in raw if isinstance(e, dict)]

    @property
    def inputs(self) -> Any:
        """The span's inputs (for a function: a dict of argument name to value)."""
        try:
            return self._inputs
        except AttributeError:
            self._decode_payloads()
            return self._inputs

    @property
    def outputs(self) -> Any:
        """The span's outputs (for a function: its return value)."""
        try:
            return self._outputs
        except AttributeError:
            self._decode_payloads()
            return self._outputs

    @property
    def attributes(self) -> dict[str, Any]:
        """Free-form key/value attributes (token counts, model name, chat tools...)."""
        try:
            attributes: dict[str, Any] = self._attributes
        except AttributeError:
            self._decode_payloads()
            attributes = self._attributes
        return attributes

    @property
    def events(self) -> list[SpanEvent]:
        """Events logged on the span, oldest first (exceptions among them)."""
        try:
            events: list[SpanEvent] = self._events
        except AttributeError:
            self._decode_payloads()
            events = self._events
        return events

    def get_attribute(self, key: str) -> Any:
        """Return one attribute, or None."""
        return self.attributes.get(key)

    @property
    def duration_ns(self) -> int | None:
        """End minus start in nanoseconds, or None while the span runs."""
        end = self.end_time_ns
        return None if end is None else end - self.start_time_ns

    @property
    def status(self) -> str:
        """Alias of ``status_code``."""
        return self.status_code

    def to_dict(self) -> dict[str, Any]:
        """Return the span as a plain, JSON-ready dict."""
        return {
            "name": self.name,
            "span_id": self.span_id,
            "trace_id": self.trace_id,
            "parent_id": self.parent_id,
            "span_type": self.span_type,
            "start_time_ns": self.start_time_ns,
            "end_time_ns": self.end_time_ns,
            "status_code": self.status_code,
            "status_message": self.status_message,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "attributes": self.attributes,
            "events": [event.to_dict() for event in self.events],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        """Build a span from ``to_dict`` output."""
        return cls(
            name=str(data["name"]),
            span_id=str(data["span_id"]),
            trace_id=str(data["trace_id"]),
            parent_id=data.get("parent_id"),
            span_type=data.get("span_type"),
            start_time_ns=int(data["start_time_ns"]),
            end_time_ns=data.get("end_time_ns"),
            status_code=str(data.get("status_code") or "UNSET"),
            status_message=str(data.get("status_message") or ""),
            inputs=data.get("inputs"),
            outputs=data.get("outputs"),
            attributes=dict(data.get("attributes") or {}),
            events=[SpanEvent.from_dict(e) for e in data.get("events") or []],
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, span_id={self.span_id!r}, "
            f"span_type={self.span_type!r}, status_code={self.status_code!r})"
        )


class Experiment:
    """A named group of traces."""

    __slots__ = ("creation_time", "experiment_id", "lifecycle_stage", "name", "tags")

    def __init__(self, experiment_id: str, name: str, creation_time: int | None = None) -> None:
        self.experiment_id = experiment_id
        self.name = name
        self.creation_time = creation_time
        self.lifecycle_stage = "active"
        self.tags: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Experiment(experiment_id={self.experiment_id!r}, name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Experiment)
            and other.experiment_id == self.experiment_id
            and other.name == self.name
        )

    def __hash__(self) -> int:
        return hash((self.experiment_id, self.name))


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
        """The span without a parent (the first one if several)."""
        return next((s for s in self.spans if s.parent_id is None), None)

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

    def __repr__(self) -> str:
        return (
            f"Trace(request_id={self.request_id!r}, name={self.name!r}, "
            f"status={self.status!r}, spans={len(self.data.spans)})"
        )
