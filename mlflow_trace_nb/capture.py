"""What a span keeps of the values it is given: snapshots of containers, and exceptions as
OpenTelemetry-style ``exception`` events. Both run on the caller's thread, so both are cheap
and neither raises.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

from mlflow_trace_nb.entities import SpanEvent

__all__ = ["SNAPSHOT_TYPES", "exception_event", "snapshot", "snapshot_values"]

_time_ns = time.time_ns

#: Containers that are copied when recorded (see ``snapshot``).
SNAPSHOT_TYPES = (list, dict, set)
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


def exception_event(exception: BaseException | str) -> SpanEvent:
    """Describe an exception as an OpenTelemetry-style ``exception`` event. Never raises."""
    attributes: dict[str, Any] = {}
    try:
        if isinstance(exception, BaseException):
            cls = type(exception)
            attributes["exception.type"] = (
                cls.__qualname__
                if cls.__module__ == "builtins"
                else f"{cls.__module__}.{cls.__qualname__}"
            )
            try:
                attributes["exception.message"] = str(exception)
            except Exception:
                attributes["exception.message"] = f"<unprintable {cls.__name__}>"
            attributes["exception.stacktrace"] = "".join(
                traceback.format_exception(cls, exception, exception.__traceback__)
            )
        else:
            attributes["exception.type"] = "Exception"
            attributes["exception.message"] = str(exception)
    except Exception:  # format_exception on a hostile object
        attributes.setdefault("exception.type", "Exception")
        attributes.setdefault("exception.message", "<unprintable exception>")
    return SpanEvent("exception", _time_ns(), attributes)
