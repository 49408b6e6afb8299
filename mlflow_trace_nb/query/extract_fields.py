"""``search_traces(extract_fields=[...])`` (MLflow 3, deprecated there since 3.6): columns
taken from spans' inputs or outputs, named ``"span_name.inputs.field"`` or
``"span_name.outputs"``. A span or field name holding a dot is written in backticks
(```span.name`.inputs.`field.name```); a malformed field raises ``MlflowException``
(``INVALID_PARAMETER_VALUE``) with MLflow's wording. When several spans of a trace have the
name, the last one (in start order) gives the value, as in MLflow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from mlflow_trace_nb.errors import MlflowException

__all__ = ["Field", "add_field_columns", "parse_fields"]

_INVALID = "INVALID_PARAMETER_VALUE"


class Field(NamedTuple):
    """A parsed field: span name, ``"inputs"`` or ``"outputs"``, and an optional key."""

    span_name: str
    side: str
    key: str | None

    def __str__(self) -> str:
        head = f"{self.span_name}.{self.side}"
        return head if self.key is None else f"{head}.{self.key}"


def _part(text: str, at: int, field: str, last: bool) -> tuple[str, int]:
    """One dotted part from ``at``: backticked (up to the closing backtick) or up to the
    next dot (or, for the ``last`` part, the end)."""
    if text.startswith("`", at):
        close = text.find("`", at + 1)
        if close < 0:
            raise MlflowException(f"Expected closing backtick: {field!r}", _INVALID)
        if last and close + 1 != len(text):
            raise MlflowException(
                f"Unexpected characters after closing backtick: {field!r}", _INVALID
            )
        return text[at + 1 : close], close + 1
    end = len(text) if last else text.find(".", at)
    if end < 0:
        end = len(text)
    return text[at:end], end


def parse_field(field: str) -> Field:
    """Parse ``span_name.(inputs|outputs)[.key]``."""
    if not isinstance(field, str):
        raise MlflowException(f"extract_fields holds a {type(field).__name__}: {field!r}", _INVALID)
    name, at = _part(field, 0, field, last=False)
    if not field.startswith(".", at):
        raise MlflowException(f"Expected dot after span name: {field!r}", _INVALID)
    dot = field.find(".", at + 1)
    side = field[at + 1 :] if dot < 0 else field[at + 1 : dot]
    if side not in ("inputs", "outputs"):
        raise MlflowException(
            f"Invalid field type: {side!r}. Expected 'inputs' or 'outputs'.", _INVALID
        )
    if dot < 0 or dot + 1 == len(field):
        return Field(name, side, None)
    key, _ = _part(field, dot + 1, field, last=True)
    return Field(name, side, key)


def parse_fields(fields: Sequence[str]) -> list[Field]:
    """Parse every field (``MlflowException`` on the first malformed one)."""
    if isinstance(fields, str) or not isinstance(fields, Sequence):
        raise MlflowException(
            f"extract_fields must be a list of strings, got {type(fields).__name__}", _INVALID
        )
    return [parse_field(f) for f in fields]


def _value(span: Any, field: Field) -> Any:
    payload = span.inputs if field.side == "inputs" else span.outputs
    if field.key is None:
        return payload
    if isinstance(payload, dict):
        return payload.get(field.key)
    return None


def add_field_columns(frame: Any, traces: Sequence[Any], fields: list[Field]) -> Any:
    """``frame`` (one row per trace of ``traces``, same order) with a column per field."""
    for field in fields:
        column = []
        for trace in traces:
            value = None
            for span in trace.data.spans:
                if span.name == field.span_name:
                    value = _value(span, field)
            column.append(value)
        frame[str(field)] = column
    return frame
