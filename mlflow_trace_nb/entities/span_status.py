"""``SpanStatusCode`` and ``SpanStatus``: how a span ended, as ``mlflow.entities`` spells it.

``SpanStatusCode`` is a string enum (``SpanStatusCode.OK == "OK"``) with OpenTelemetry's
three codes plus two of ours, ``CANCELLED`` and ``TIMEOUT`` (exported to MLflow/OTel as
ERROR with the code in the description). ``SpanStatus`` is MLflow's status object
(``status_code``, ``description``); it also keeps the reference API's string constants
(``SpanStatus.OK == "OK"``) and compares equal to its code's string, so code written
against either API reads it.
"""

from __future__ import annotations

import enum
from typing import Any

from mlflow_trace_nb.errors import MlflowException

__all__ = ["SpanStatus", "SpanStatusCode"]

_PROTO_NAMES = {
    "UNSET": "STATUS_CODE_UNSET",
    "OK": "STATUS_CODE_OK",
    "ERROR": "STATUS_CODE_ERROR",
}


class SpanStatusCode(enum.StrEnum):
    """A span's status code; ``UNSET`` while it runs."""

    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"

    def to_otel_proto_status_code_name(self) -> str:
        """OpenTelemetry's protobuf name (``STATUS_CODE_OK``...); CANCELLED/TIMEOUT: ERROR."""
        return _PROTO_NAMES.get(self.value, "STATUS_CODE_ERROR")

    @staticmethod
    def from_otel_proto_status_code_name(status_code_name: str) -> SpanStatusCode:
        """The code for a protobuf name (``STATUS_CODE_ERROR`` -> ``ERROR``)."""
        for code, proto in _PROTO_NAMES.items():
            if proto == status_code_name:
                return SpanStatusCode(code)
        raise MlflowException(
            f"Invalid status code name: {status_code_name}. "
            f"Valid values are: {', '.join(_PROTO_NAMES.values())}"
        )


def parse_status_code(value: Any) -> SpanStatusCode:
    """``value`` (a code, its string, any case, or a protobuf name) as a ``SpanStatusCode``;
    ``MlflowException`` with MLflow's message for anything else."""
    if isinstance(value, SpanStatusCode):
        return value
    text = getattr(value, "value", value)
    if isinstance(text, str):
        upper = text.upper()
        if upper in SpanStatusCode.__members__:
            return SpanStatusCode(upper)
        if upper.startswith("STATUS_CODE_"):
            return SpanStatusCode.from_otel_proto_status_code_name(upper)
    raise MlflowException(
        f"{value} is not a valid SpanStatusCode value. "
        f"Please use one of {[code.value for code in SpanStatusCode]}"
    )


class SpanStatus:
    """Status of a span or a trace: ``SpanStatus("OK")``, ``SpanStatus(SpanStatusCode.ERROR,
    "message")``. The class attributes ``OK``, ``ERROR``, ``CANCELLED``, ``TIMEOUT`` are the
    reference API's string constants."""

    __slots__ = ("description", "status_code")

    OK = "OK"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"

    def __init__(self, status_code: SpanStatusCode | str, description: str = "") -> None:
        self.status_code: SpanStatusCode = parse_status_code(status_code)
        self.description: str = description or ""

    def to_otel_status(self) -> Any:
        """The OpenTelemetry ``Status`` (needs ``opentelemetry-api``)."""
        from opentelemetry import trace as trace_api

        code = self.status_code.value
        if code not in ("UNSET", "OK", "ERROR"):
            return trace_api.Status(trace_api.StatusCode.ERROR, f"{code}: {self.description}")
        return trace_api.Status(getattr(trace_api.StatusCode, code), self.description)

    @classmethod
    def from_otel_status(cls, otel_status: Any) -> SpanStatus:
        """Build from an OpenTelemetry ``Status``."""
        return cls(otel_status.status_code.name, otel_status.description or "")

    def to_dict(self) -> dict[str, str]:
        """``{"code": "STATUS_CODE_OK", "message": ...}`` as in MLflow's span dicts."""
        message, code = self.description, self.status_code.value
        if code not in _PROTO_NAMES:  # ours only: the code goes into the description
            message = f"{code}: {message}" if message else code
        return {"code": self.status_code.to_otel_proto_status_code_name(), "message": message}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SpanStatus):
            return (other.status_code, other.description) == (self.status_code, self.description)
        if isinstance(other, str):  # the reference API's string statuses
            return other == self.status_code.value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.status_code.value)

    def __str__(self) -> str:
        return self.status_code.value

    def __repr__(self) -> str:
        return f"SpanStatus(status_code={self.status_code!s}, description={self.description!r})"
