"""What a span keeps of the values it is given: snapshots of containers, and exceptions as
OpenTelemetry-style ``exception`` events. Both run on the caller's thread, so both are cheap
and neither raises.

Recording an exception costs the same at any depth. On the caller's thread only its type and
message are read (once per exception object, however many traced levels it crosses); the
stack trace is formatted later, once, by whoever first reads the event's attributes (the
writer thread building the row, normally). Until then the record holds the exception and its
traceback, which keep frames alive, so at most ``MAX_PENDING_TRACEBACKS`` records wait
unformatted: recording one more formats the oldest at once.
"""

from __future__ import annotations

import time
import traceback
from collections import deque
from types import TracebackType
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.records import FixedAttributes
from mlflow_trace_nb._internal.text import as_text
from mlflow_trace_nb._internal.tracer.context import untraced
from mlflow_trace_nb.entities import SpanEvent

__all__ = [
    "MAX_EXCEPTION_MESSAGE_CHARS",
    "MAX_PENDING_TRACEBACKS",
    "SNAPSHOT_TYPES",
    "ExceptionEvent",
    "ExceptionRecord",
    "exception_event",
    "fixed_attributes",
    "snapshot",
    "snapshot_values",
]

_time_ns = time.time_ns

#: Containers that are copied when recorded (see ``snapshot``).
#: (A frozenset: ``type(v) in`` it is a hash lookup; in a tuple, an equality test per member.)
SNAPSHOT_TYPES = frozenset({list, dict, set})
#: Containers longer than this are kept by reference (serialisation truncates them anyway).
_SNAPSHOT_MAX_ITEMS = 1_000


def _copy_small(value: Any) -> Any:
    return (
        value.copy()
        if type(value) in SNAPSHOT_TYPES and len(value) <= _SNAPSHOT_MAX_ITEMS
        else value
    )


def snapshot(value: Any) -> Any:
    """Copy a small list/dict/set two levels deep (the container and the containers in it),
    so the recorded value is the value at call time even if the caller mutates it later."""
    cls = type(value)
    if cls is dict:
        if len(value) > _SNAPSHOT_MAX_ITEMS:
            return value
        return snapshot_values(value.copy())
    if cls is list or cls is set:
        return _copy_small(value)
    return value


def snapshot_values(fresh: dict[Any, Any]) -> dict[Any, Any]:
    """Copy, in place, the small containers among the values of a dict the caller owns."""
    for key, value in fresh.items():
        if type(value) in SNAPSHOT_TYPES:
            fresh[key] = _copy_small(value)
    return fresh


def _type_name(cls: type) -> str:
    module = getattr(cls, "__module__", None)
    name = getattr(cls, "__qualname__", None) or getattr(cls, "__name__", "Exception")
    return str(name) if module in ("builtins", None) else f"{module}.{name}"


#: An exception message longer than this is cut (with a marker) when recorded.
MAX_EXCEPTION_MESSAGE_CHARS = 10_000
#: At most this many recorded exceptions wait with their traceback for lazy formatting.
MAX_PENDING_TRACEBACKS = 64


#: Longest part of an argument shown when an exception's message is made from its args.
_ARG_CHARS = 1_000
_PLAIN = (int, float, bool, type(None))


def _short(value: Any) -> str:
    """``repr(value)`` for an exception message, cut without building the whole of it."""
    kind = type(value)
    if kind is str or kind is bytes or kind is bytearray:
        head = value[:_ARG_CHARS]
        text = repr(head) if kind is not bytearray else f"bytearray({bytes(head)!r})"
        return text if len(value) <= _ARG_CHARS else f"{text}…[{len(value):,} long]"
    if kind in _PLAIN:
        return repr(value)
    if kind is list or kind is tuple:
        items = ", ".join(_short(item) for item in value[:10])
        more = f", …[{len(value):,} items]" if len(value) > 10 else ""
        return f"[{items}{more}]" if kind is list else f"({items}{more})"
    return f"<{kind.__name__}>"


def _args_text(exception: BaseException) -> str | None:
    """``str(exception)`` made from its args without building huge text (``ValueError("x",
    bytearray(50 MB))``'s would be 200 MB, on the caller's thread), or None when the
    exception formats its own message or its args are small (then ``str`` is used)."""
    if type(exception).__str__ is not BaseException.__str__:
        return None
    args = exception.args
    if all(
        type(a) in _PLAIN or (type(a) in (str, bytes) and len(a) <= MAX_EXCEPTION_MESSAGE_CHARS)
        for a in args
    ):
        return None
    if len(args) == 1:
        only = args[0]
        return only[: MAX_EXCEPTION_MESSAGE_CHARS + 1] if type(only) is str else _short(only)
    return _short(tuple(args))


def _message(exception: BaseException) -> str:
    try:
        message = _args_text(exception)
        if message is None:
            with untraced():  # a traced __str__ is no trace of the user's
                message = str(exception)
    except RecursionError:
        if isinstance(exception, RecursionError):
            raise  # a runaway recursion: no stack left here, an outer span records it
        return f"<unprintable {type(exception).__name__}>"  # a __str__ that recurses
    except BaseException:  # a hostile __str__ may raise anything, even a KeyboardInterrupt:
        # the user's exception must go on unchanged
        try:
            return f"<unprintable {type(exception).__name__}>"
        except BaseException:
            return "<unprintable exception>"
    if type(message) is not str:  # a str subclass with a hostile __len__/__getitem__
        message = str.__str__(message)
    if len(message) > MAX_EXCEPTION_MESSAGE_CHARS:
        extra = len(message) - MAX_EXCEPTION_MESSAGE_CHARS
        message = f"{message[:MAX_EXCEPTION_MESSAGE_CHARS]}…[truncated {extra} chars]"
    return message


class ExceptionRecord:
    """One exception as seen by the tracer: type and message read at once, the stack trace
    formatted on first request (``stacktrace()``), after which the exception and traceback
    are let go. The traceback is the one at the first span that recorded the exception: from
    that span's function down to where it was raised."""

    __slots__ = ("_stacktrace", "exception", "message", "tb", "type_name")

    def __init__(self, exception: BaseException) -> None:
        self.exception: BaseException | None = exception
        try:
            self.tb: TracebackType | None = exception.__traceback__
        except BaseException:  # a subclass's hostile __traceback__ property
            self.tb = None
        self.type_name = _type_name(type(exception))
        self.message = _message(exception)
        self._stacktrace: str | None = None
        if len(_pending) >= MAX_PENDING_TRACEBACKS:
            oldest = _pending.popleft()
            if oldest._stacktrace is None:  # still holding frames: format it now
                try:  # noqa: SIM105 (a call; near the stack limit there is no room for more)
                    oldest.stacktrace()
                except RecursionError:
                    pass
        _pending.append(self)

    def stacktrace(self) -> str:
        """The formatted traceback (computed once)."""
        text = self._stacktrace
        if text is None:
            exception, tb = self.exception, self.tb
            try:
                if exception is None:
                    raise ValueError("no exception")
                if _args_text(exception) is None:
                    with untraced():
                        lines = traceback.format_exception(type(exception), exception, tb)
                    text = "".join(lines)
                else:  # huge args: the frames, and the message as recorded (already cut)
                    frames = "".join(traceback.format_tb(tb))
                    text = f"Traceback (most recent call last):\n{frames}{self.type_name}: "
                    text += f"{self.message}\n"
            except Exception:  # a hostile exception or a recursion limit while formatting
                text = f"{self.type_name}: {self.message}\n<stack trace unavailable>"
            self._stacktrace = text
            self.exception = self.tb = None
        return text


_pending: deque[ExceptionRecord] = deque()
_ATTRIBUTES = SpanEvent.__dict__["attributes"]  # the slot the property below wraps


class ExceptionEvent(SpanEvent):
    """An ``exception`` event whose ``exception.stacktrace`` attribute is formatted from its
    record when the attributes are first read. ``full=False`` (the same exception seen again
    by an outer span) records type and message only."""

    __slots__ = ("_record",)

    def __init__(self, record: ExceptionRecord, timestamp_ns: int, full: bool = True) -> None:
        super().__init__(
            "exception",
            timestamp_ns,
            {"exception.type": record.type_name, "exception.message": record.message},
        )
        self._record: ExceptionRecord | None = record if full else None

    @property
    def attributes(self) -> dict[str, Any]:
        attributes: dict[str, Any] = _ATTRIBUTES.__get__(self)
        record = self._record
        if record is not None:
            attributes["exception.stacktrace"] = record.stacktrace()
            self._record = None
        return attributes

    @attributes.setter
    def attributes(self, value: dict[str, Any]) -> None:
        _ATTRIBUTES.__set__(self, value)


def exception_event(exception: BaseException | str) -> SpanEvent:
    """Describe an exception as an OpenTelemetry-style ``exception`` event (the stack trace
    formatted when first read). Never raises."""
    try:
        if isinstance(exception, BaseException):
            return ExceptionEvent(ExceptionRecord(exception), _time_ns())
        message = str(exception)
    except Exception:  # a hostile object
        message = "<unprintable exception>"
    return SpanEvent(
        "exception", _time_ns(), {"exception.type": "Exception", "exception.message": message}
    )


def fixed_attributes(attributes: dict[str, Any] | None, function: str | None) -> Any:
    """The attributes each span of a traced (non-generator) function starts with, made once
    (a ``FixedAttributes``, or None): the decorator's ``attributes=`` (values snapshotted
    now) and, as MLflow 3 records it, ``mlflow.spanFunctionName`` (the function's name)."""
    fixed = FixedAttributes(
        {as_text(k): snapshot(v) for k, v in attributes.items()} if attributes else ()
    )
    if function is not None:
        fixed[keys.SPAN_FUNCTION_NAME] = function
    return fixed or None
