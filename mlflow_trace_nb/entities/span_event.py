"""``SpanEvent``: a point in time inside a span, as ``mlflow.entities.SpanEvent``."""

from __future__ import annotations

import json
import time
import traceback
from typing import Any

__all__ = ["SpanEvent"]


class SpanEvent:
    """A point in time inside a span (an exception, a retry, a streamed chunk).

    ``SpanEvent(name, timestamp=ns, attributes={...})`` as in MLflow (the timestamp defaults
    to now); ``timestamp_ns`` is the same value under the reference API's name."""

    __slots__ = ("attributes", "name", "timestamp_ns")

    def __init__(
        self,
        name: str,
        timestamp: int | None = None,
        attributes: dict[str, Any] | None = None,
        *,
        timestamp_ns: int | None = None,
    ) -> None:
        self.name = name
        stamp = timestamp if timestamp is not None else timestamp_ns
        self.timestamp_ns = int(stamp) if stamp is not None else time.time_ns()
        self.attributes: dict[str, Any] = attributes if attributes is not None else {}

    @property
    def timestamp(self) -> int:
        """When the event happened, in ns since the epoch (MLflow's name)."""
        return self.timestamp_ns

    @classmethod
    def from_exception(cls, exception: BaseException) -> SpanEvent:
        """An ``exception`` event: type, message and formatted stack trace."""
        try:
            stacktrace = "".join(traceback.format_exception(exception)).strip()
        except Exception:
            stacktrace = repr(exception)
        return cls(
            name="exception",
            attributes={
                "exception.message": str(exception),
                "exception.type": type(exception).__name__,
                "exception.stacktrace": stacktrace,
            },
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the event as a plain dict (the store's layout)."""
        return {"name": self.name, "timestamp_ns": self.timestamp_ns, "attributes": self.attributes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpanEvent:
        """Build an event from ``to_dict`` output or MLflow's event dicts
        (``time_unix_nano`` in v3, ``timestamp`` in v2)."""
        stamp = data.get("timestamp_ns") or data.get("time_unix_nano") or data.get("timestamp")
        attributes = data.get("attributes") or {}
        if isinstance(attributes, str):  # MLflow's SpanEvent.json() encodes them
            try:
                attributes = json.loads(attributes)
            except ValueError:
                attributes = {}
        return cls(str(data.get("name", "")), int(stamp or 0), dict(attributes))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpanEvent):
            return NotImplemented
        return (self.name, self.timestamp_ns, self.attributes) == (
            other.name,
            other.timestamp_ns,
            other.attributes,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable attributes

    def __repr__(self) -> str:
        return (
            f"SpanEvent(name={self.name!r}, timestamp={self.timestamp_ns}, "
            f"attributes={self.attributes!r})"
        )
