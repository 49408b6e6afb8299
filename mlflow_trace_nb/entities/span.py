"""Read-only spans: ``Span``, ``SpanContext``, ``SpanEvent``.

A ``Span`` read back from a store keeps its row and decodes its JSON payloads the first time
one is asked for, so building a DataFrame of ten thousand traces does not parse payloads
nobody looks at. The live, mutable span handed to user code while it runs is
``mlflow_trace_nb._internal.tracer.live_span.LiveSpan``, a subclass with the same read interface.
"""

from __future__ import annotations

from typing import Any

from mlflow_trace_nb.store.decoding import decode_json as loads

__all__ = ["Span", "SpanContext", "SpanEvent"]


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
