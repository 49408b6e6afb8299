"""Spans while they run: ``LiveSpan`` (recording), ``NoOpSpan`` (tracing off or unsampled),
and ``LiveTrace`` (re-exported from ``live_trace``: one trace while it is recorded).

A span leaves the tracer only as its ``SpanRecord`` (``record_of``), made when it ends.

Creating and ending a span is the hot path: both only store references and read the
clock. Payloads are kept as the Python objects the user passed (small containers copied,
see ``capture.snapshot``, so later mutation does not rewrite history) and serialised later
on the writer thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.records import FixedAttributes
from mlflow_trace_nb._internal.text import as_text
from mlflow_trace_nb._internal.tracer import context, ids
from mlflow_trace_nb._internal.tracer.arguments import optional_mapping, span_end_ns
from mlflow_trace_nb._internal.tracer.capture import (
    ExceptionEvent,
    ExceptionRecord,
    exception_event,
    snapshot,
)
from mlflow_trace_nb._internal.tracer.live_trace import LIVE_SPANS_KEPT, LiveTrace, record_of
from mlflow_trace_nb.entities import Span, SpanEvent
from mlflow_trace_nb.entities.span_status import parse_status_code
from mlflow_trace_nb.errors import MlflowException
from mlflow_trace_nb.tracing import attachments
from mlflow_trace_nb.tracing.provider import SpanStatus, SpanStatusCode

__all__ = [
    "LIVE_SPANS_KEPT",
    "MAX_EVENTS_PER_SPAN",
    "NO_OP_SPAN",
    "LiveSpan",
    "LiveTrace",
    "NoOpSpan",
    "record_of",
]

_time_ns = time.time_ns
_UNSET = SpanStatusCode.UNSET  # a module constant: an enum member's lookup is slow
#: Events one span keeps from ``add_event`` (the rest are counted, see ``add_event``).
MAX_EVENTS_PER_SPAN = 10_000
#: ``span_lifecycle.finish_span``, registered by that module when it is imported (it imports
#: this one; the tracer is always imported with it).
_FINISH: list[Callable[..., None]] = []


class LiveSpan(Span):
    """A span that is being recorded; what ``trace(...)`` and ``start_span`` yield.

    Besides the read interface of ``Span`` it has setters: ``set_inputs``, ``set_outputs``,
    ``set_attribute(s)``, ``add_event``, ``record_exception``, ``set_status`` and ``end``.
    Setters called after the span has ended are ignored.
    """

    __slots__ = (
        "_exc",
        "_parent",
        "_recording",  # a slot, not a class attribute: read twice per traced call, fast
        "_span_id",
        "_state",
        "_token",
        "end_time_ns",  # these slots replace the read-only fields of a stored Span
        "name",
        "span_type",
        "start_time_ns",
        "status_code",
        "status_message",
    )
    _recording: bool
    name: str
    span_type: str | None
    start_time_ns: int
    end_time_ns: int | None
    status_code: str
    status_message: str
    _span_id: int
    _exc: BaseException | None
    _token: Any
    _parent: LiveSpan | None
    _state: LiveTrace

    def __init__(
        self,
        name: str,
        span_type: str | None,
        state: LiveTrace,
        parent: LiveSpan | None,
        inputs: Any = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.span_type = span_type
        self._state = state
        self._parent = parent
        self._span_id = ids.new_span_id()
        self._inputs = inputs
        self._outputs = None
        # attributes/events are created on first use: fewer objects for the GC to track
        # a traced function's FixedAttributes are shared until changed (_raw_attributes)
        self._attributes = (
            attributes
            if type(attributes) is FixedAttributes
            else dict(attributes)
            if attributes
            else None  # type: ignore[assignment]
        )
        self._events = None  # type: ignore[assignment]
        self._token = None
        self._exc = None
        self._recording = True
        self.status_code = _UNSET
        self.status_message = ""
        self.end_time_ns = None
        count = state.span_count = state.span_count + 1
        if count <= LIVE_SPANS_KEPT:
            state.spans.append(self)
        if parent is None:
            state.root = self
        self.start_time_ns = _time_ns()

    # Identity (ids are ints until read) ---------------------------------------------------
    @property
    def span_id(self) -> str:
        return ids.format_span_id(self._span_id)

    @property
    def trace_id(self) -> str:
        return self._state.request_id

    @property
    def parent_id(self) -> str | None:
        parent = self._parent
        if parent is None:
            return self._state.remote_parent_id
        return ids.format_span_id(parent._span_id)

    @property
    def inputs(self) -> Any:
        return self._inputs

    @property
    def outputs(self) -> Any:
        return self._outputs

    @property
    def _raw_attributes(self) -> dict[str, Any]:
        attributes: dict[str, Any] | None = self._attributes
        if attributes is None or type(attributes) is FixedAttributes:
            attributes = self._attributes = dict(attributes or ())  # never change a shared one
        return attributes

    @property
    def events(self) -> list[SpanEvent]:
        events: list[SpanEvent] | None = self._events
        if events is None:
            events = self._events = []
        return events

    # Setters ----------------------------------------------------------------------------
    def set_inputs(self, inputs: Any) -> None:
        """Replace the span's inputs (``Attachment`` s in them stored, see
        ``tracing.attachments``)."""
        if self.end_time_ns is None:
            if attachments.IN_USE:
                inputs = attachments.extract_attachments(inputs, self._state.request_id)
            self._inputs = snapshot(inputs)

    def set_outputs(self, outputs: Any) -> None:
        """Replace the span's outputs (``Attachment`` s in them stored)."""
        if self.end_time_ns is None:
            if attachments.IN_USE:
                outputs = attachments.extract_attachments(outputs, self._state.request_id)
            self._outputs = snapshot(outputs)

    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute (any value; it is serialised later)."""
        if self.end_time_ns is None:
            self._raw_attributes[key if type(key) is str else as_text(key)] = snapshot(value)

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        """Set several attributes."""
        if self.end_time_ns is None and attributes:
            target = self._raw_attributes
            for key, value in dict(attributes).items():
                target[key if type(key) is str else as_text(key)] = snapshot(value)

    def add_event(
        self,
        event: SpanEvent | str,
        attributes: dict[str, Any] | None = None,
        timestamp_ns: int | None = None,
    ) -> None:
        """Log an event (a ``SpanEvent``, or a name plus attributes and timestamp). A span
        keeps its first ``MAX_EVENTS_PER_SPAN``; later ones are counted in its
        ``mlflow_trace_nb.dropped_events`` attribute (exception events are always kept)."""
        if self.end_time_ns is not None:
            return
        events = self.events
        if len(events) >= MAX_EVENTS_PER_SPAN:
            dropped = self._raw_attributes.get(keys.DROPPED_EVENTS, 0)
            self._raw_attributes[keys.DROPPED_EVENTS] = dropped + 1
            return
        if not isinstance(event, SpanEvent):
            event = SpanEvent(as_text(event), timestamp_ns or _time_ns(), dict(attributes or {}))
        events.append(event)

    def record_exception(self, exception: BaseException | str) -> None:
        """Add an ``exception`` event and mark the span ERROR.

        Type and message are read now, the stack trace formatted later off the caller's
        thread. An exception crossing several traced levels is described in full only on the
        innermost span; outer spans get type and message: the same cost at any depth.
        Anything but an exception or a string raises ``MlflowException``, as MLflow's.
        """
        if not isinstance(exception, (BaseException, str)):
            raise MlflowException(
                "The `exception` parameter must be an Exception instance or a string."
            )
        if self.end_time_ns is not None or (exception is self._exc and exception is not None):
            return
        if isinstance(exception, BaseException):
            self._exc = exception  # the same exception re-raised through __exit__: once
            state = self._state
            record = getattr(state, "last_record", None)
            if record is not None and getattr(state, "last_exception", None) is exception:
                self.events.append(ExceptionEvent(record, _time_ns(), full=False))
            else:
                record = ExceptionRecord(exception)
                self.events.append(ExceptionEvent(record, _time_ns()))
                # only once the event is there (near the stack limit any call may fail)
                state.last_exception, state.last_record = exception, record
            message = record.message
        else:
            event = exception_event(exception)
            message = as_text(event.attributes.get("exception.message", ""))
            self.events.append(event)
        self.status_code = SpanStatus.ERROR
        self.status_message = message  # capped when stored (limits.MAX_MESSAGE_CHARS, marked)

    def set_status(self, status: SpanStatus | str, message: str | None = None) -> None:
        """Set the status: a ``SpanStatus`` or one of OK, ERROR, CANCELLED, TIMEOUT, UNSET.
        Anything else raises ``MlflowException`` (a ValueError), worded as MLflow's."""
        if isinstance(status, SpanStatus):
            code: str = status.status_code.value
            if message is None and status.description:
                message = status.description
        else:
            code = parse_status_code(status).value
        if self.end_time_ns is None:
            self.status_code = code
            if message is not None:
                self.status_message = as_text(message)

    def end(
        self,
        outputs: Any = None,
        attributes: dict[str, Any] | None = None,
        status: str | None = None,
        end_time_ns: int | None = None,
    ) -> None:
        """End the span (idempotent); restores its parent as the active span."""
        if self.end_time_ns is not None:
            return
        # every argument is checked before anything changes: a refused end() can be retried
        if end_time_ns is not None:
            end_time_ns = span_end_ns(end_time_ns, self.start_time_ns)
        if status is not None and not isinstance(status, SpanStatus):
            parse_status_code(status)  # MlflowException, as MLflow's
        optional_mapping(attributes, "attributes")
        if outputs is not None:
            self.set_outputs(outputs)
        if attributes:
            self.set_attributes(attributes)
        if status is not None:
            self.set_status(status)
        _FINISH[0](self, None, end_time_ns)

    def __enter__(self) -> LiveSpan:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        _FINISH[0](self, exc)


class NoOpSpan(LiveSpan):
    """Stands in for a span when tracing is disabled or the trace is not sampled.

    Every setter does nothing; reading gives empty values. One shared instance is used.
    """

    __slots__ = ()
    _recording = False  # (shadows LiveSpan's slot: never set on an instance)

    def __init__(self) -> None:  # no trace, no clock
        self.name = ""
        self.span_type = None
        self._span_id = 0
        self._parent = None
        self._inputs = self._outputs = None
        self._attributes = {}
        self._events = []
        self._token = None
        self._exc = None
        self.status_code = SpanStatusCode.UNSET
        self.status_message = ""
        self.start_time_ns = 0
        self.end_time_ns = None

    @property
    def span_id(self) -> str:
        return ""

    @property
    def trace_id(self) -> str:
        return ""

    @property
    def parent_id(self) -> str | None:
        return None

    @property
    def _raw_attributes(self) -> dict[str, Any]:
        return {}

    @property
    def attributes(self) -> dict[str, Any]:
        return {}

    @property
    def events(self) -> list[SpanEvent]:
        return []

    def set_inputs(self, inputs: Any) -> None:
        pass

    def set_outputs(self, outputs: Any) -> None:
        pass

    def set_attribute(self, key: str, value: Any) -> None:
        pass

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        pass

    def add_event(self, event: Any, attributes: Any = None, timestamp_ns: Any = None) -> None:
        pass

    def record_exception(self, exception: BaseException | str) -> None:
        pass

    def set_status(self, status: SpanStatus | str, message: str | None = None) -> None:
        pass

    def end(self, *args: Any, **kwargs: Any) -> None:
        self._detach()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._detach()

    def _detach(self) -> None:
        token = self._token
        if token is not None:  # an unsampled root started with start_span()
            from mlflow_trace_nb._internal.tracer.context import detach

            self._token = None
            detach(token, None)

    def __repr__(self) -> str:
        return "NoOpSpan()"


NO_OP_SPAN = NoOpSpan()
context.NOTHING_RECORDED[:] = [NO_OP_SPAN]
