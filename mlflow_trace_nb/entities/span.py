"""Read-only spans: ``Span``, ``SpanContext``, ``SpanEvent``.

A ``Span`` read back from a store keeps its row and decodes its JSON payloads the first time
one is asked for, so building a DataFrame of ten thousand traces does not parse payloads
nobody looks at. The live, mutable span handed to user code while it runs is
``mlflow_trace_nb._internal.tracer.live_span.LiveSpan``, a subclass with the same read interface.
"""

from __future__ import annotations

from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb.entities.mlflow_format import dump_attribute, encode_id, span_fields
from mlflow_trace_nb.entities.recorded import log_level, span_attributes
from mlflow_trace_nb.entities.span_event import SpanEvent
from mlflow_trace_nb.entities.span_status import SpanStatus
from mlflow_trace_nb.errors import MlflowException
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


#: MLflow's span attribute keys that hold a span field (``get_attribute`` answers them).
_RESERVED_FIELDS = {
    keys.SPAN_TYPE: "span_type",
    keys.SPAN_INPUTS: "inputs",
    keys.SPAN_OUTPUTS: "outputs",
    keys.TRACE_REQUEST_ID: "trace_id",
}


class Span:
    """One unit of work inside a trace, as recorded (read-only).

    Attributes mirror MLflow's ``Span``: ``name``, ``context`` (span_id, trace_id),
    ``parent_id``, ``start_time_ns``, ``end_time_ns``, ``status_code``, ``status_message``,
    ``attributes``, ``events``, ``span_type``, ``inputs``, ``outputs``.

    A stored span is its ``spans`` row and nothing else until a payload is read: building
    one is a single assignment, and each JSON column is decoded the first time it is asked
    for (then cached in its slot).
    """

    # _kind: the span kind a span dict read by ``from_dict`` carried (MLflow 3.18 writes
    # "kind"), written back by ``to_dict``; unset otherwise (read with getattr)
    __slots__ = ("_attributes", "_events", "_inputs", "_kind", "_outputs", "_row")

    _row: tuple[Any, ...]
    _kind: str

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
    def _raw_attributes(self) -> dict[str, Any]:
        """The attributes set on the span (token counts, model name, chat tools...), as
        stored: what the package's own readers use."""
        try:
            attributes: dict[str, Any] = self._attributes
        except AttributeError:
            self._decode_payloads()
            attributes = self._attributes
        return attributes

    @property
    def attributes(self) -> dict[str, Any]:
        """The span's attributes as MLflow's ``Span.attributes`` (a new dict, values
        decoded): those set on it plus MLflow's own keys computed from its fields
        (``mlflow.traceRequestId``, ``mlflow.spanType``, ``mlflow.spanInputs``,
        ``mlflow.spanOutputs``, ``mlflow.spanLogLevel``; see ``entities.recorded``)."""
        return span_attributes(self, self._raw_attributes)

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
        """Return one attribute, or None. MLflow's own span keys (``mlflow.spanType``,
        ``mlflow.spanInputs``, ``mlflow.spanOutputs``, ``mlflow.traceRequestId``,
        ``mlflow.spanLogLevel``) answer from the span's fields, as an MLflow span stores
        them, unless set explicitly."""
        value = self._raw_attributes.get(key)
        if value is None and key in _RESERVED_FIELDS:
            return getattr(self, _RESERVED_FIELDS[key])
        if value is None and key == keys.SPAN_LOG_LEVEL:
            return log_level(self)
        return value

    @property
    def duration_ns(self) -> int | None:
        """End minus start in nanoseconds, or None while the span runs."""
        end = self.end_time_ns
        return None if end is None else end - self.start_time_ns

    @property
    def status(self) -> SpanStatus:
        """``SpanStatus(status_code, description)`` (compares equal to the code's string)."""
        return SpanStatus(self.status_code, self.status_message)

    @property
    def _trace_id(self) -> str:
        """The trace id without its ``tr-`` prefix (OpenTelemetry's 32 hex digits)."""
        return self.trace_id.removeprefix("tr-")

    def to_dict(self) -> dict[str, Any]:
        """The span as MLflow 3's ``Span.to_dict`` writes it (JSON-ready): ids base64,
        ``*_unix_nano`` times, ``status: {code, message}``, attributes JSON-encoded with the
        span's type, inputs, outputs, trace id and log level among them."""
        attributes = {
            keys.TRACE_REQUEST_ID: dump_attribute(self.trace_id),
            keys.SPAN_TYPE: dump_attribute(self.span_type),
        }
        if self.inputs is not None:
            attributes[keys.SPAN_INPUTS] = dump_attribute(self.inputs)
        if self.outputs is not None:
            attributes[keys.SPAN_OUTPUTS] = dump_attribute(self.outputs)
        own = self._raw_attributes
        if keys.SPAN_LOG_LEVEL not in own:
            level = log_level(self)
            if level is not None:
                attributes[keys.SPAN_LOG_LEVEL] = str(level)  # an int's JSON
        for key, value in own.items():
            attributes.setdefault(key, dump_attribute(value))
        parent = self.parent_id
        kind = getattr(self, "_kind", None)
        return {
            "trace_id": encode_id(self._trace_id),
            "span_id": encode_id(self.span_id),
            "parent_span_id": encode_id(parent) if parent else None,
            "name": self.name,
            **({"kind": kind} if kind is not None else {}),
            "start_time_unix_nano": self.start_time_ns,
            "end_time_unix_nano": self.end_time_ns,
            "events": [
                {"name": e.name, "time_unix_nano": e.timestamp_ns, "attributes": e.attributes}
                for e in self.events
            ],
            "status": self.status.to_dict(),
            "attributes": attributes,
            "links": [],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        """Build a span from a span dict: MLflow 3's (``to_dict``), MLflow 2's (``context``,
        ``start_time``) or this package's older flat one. ``MlflowException`` if unreadable."""
        try:
            span = cls(**span_fields(data))
            kind = data.get("kind")
            if type(kind) is str:
                span._kind = kind
            return span
        except Exception as exc:
            raise MlflowException(
                f"Failed to create a Span object from the given dictionary: {exc}"
            ) from exc

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, span_id={self.span_id!r}, "
            f"span_type={self.span_type!r}, status_code={self.status_code!r})"
        )
