"""Assessments, as ``mlflow.entities``: ``Assessment``, ``Feedback``, ``Expectation``,
``AssessmentSource``, ``AssessmentSourceType``, ``AssessmentError`` (MLflow 3.17's
constructors, attributes and ``to_dictionary``/``from_dictionary`` format, without protobuf).

``to_dictionary`` writes what MLflow's ``MessageToDict`` of the protobuf writes: a feedback
value as a protobuf ``Value`` (numbers as floats), an expectation value that is not a plain
scalar as JSON text in ``serialized_value``, times as protobuf JSON timestamps.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import traceback
from dataclasses import dataclass
from typing import Any

from mlflow_trace_nb.entities.assessment_error import AssessmentError
from mlflow_trace_nb.entities.assessment_source import AssessmentSource, AssessmentSourceType
from mlflow_trace_nb.entities.mlflow_format import parse_request_time
from mlflow_trace_nb.errors import MlflowException

__all__ = [
    "DEFAULT_FEEDBACK_NAME",
    "Assessment",
    "AssessmentError",
    "AssessmentSource",
    "AssessmentSourceType",
    "Expectation",
    "ExpectationValue",
    "Feedback",
    "FeedbackValue",
]

DEFAULT_FEEDBACK_NAME = "feedback"
_JSON_FORMAT = "JSON_FORMAT"
#: Key of the metadata entry naming the evaluation run that made an assessment.
SOURCE_RUN_ID = "mlflow.assessment.sourceRunId"


def _invalid(message: str) -> MlflowException:
    return MlflowException(message, "INVALID_PARAMETER_VALUE")


def proto_value(value: Any) -> Any:
    """``value`` as a protobuf ``Value`` reads back through JSON (numbers become floats)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            raise _invalid(f"Feedback value {value!r:.100} is too large") from None
    if isinstance(value, (list, tuple)):
        return [proto_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): proto_value(v) for k, v in value.items()}
    raise _invalid(
        f"Feedback value of type {type(value).__name__} is not supported: use a float, int, "
        "str, bool, or a list or dict of them"
    )


def proto_timestamp(ms: int) -> str:
    """Milliseconds since the epoch as protobuf's JSON timestamp (fraction only if nonzero)."""
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=int(ms))
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{ms % 1000:03d}Z" if ms % 1000 else f"{base}Z"


@dataclass
class ExpectationValue:
    """An expectation's value (any JSON value)."""

    value: Any

    def _need_serialization(self) -> bool:
        return self.value is not None and not isinstance(self.value, (int, float, bool, str))

    def to_dictionary(self) -> dict[str, Any]:
        if self._need_serialization():
            try:
                text = json.dumps(self.value)
            except Exception as e:
                raise _invalid(
                    f"Failed to serialize value {self.value!r:.200} to JSON string. "
                    "Expectation value must be JSON-serializable."
                ) from e
            return {"serialized_value": {"serialization_format": _JSON_FORMAT, "value": text}}
        return {"value": proto_value(self.value)}

    @classmethod
    def from_dictionary(cls, d: dict[str, Any]) -> ExpectationValue:
        if "value" in d:
            return cls(d["value"])
        if "serialized_value" in d:
            return cls(value=json.loads(d["serialized_value"]["value"]))
        raise _invalid(
            "Either 'value' or 'serialized_value' must be present in the dictionary "
            "representation of an Expectation."
        )


@dataclass
class FeedbackValue:
    """A feedback's value and error."""

    value: Any
    error: AssessmentError | None = None

    def to_dictionary(self) -> dict[str, Any]:
        result: dict[str, Any] = {"value": proto_value(self.value)}
        if self.error:
            result["error"] = self.error._proto_dict()
        return result

    @classmethod
    def from_dictionary(cls, d: dict[str, Any]) -> FeedbackValue:
        err = d.get("error")
        return cls(value=d["value"], error=AssessmentError.from_dictionary(err) if err else None)


@dataclass
class Assessment:
    """A label on a trace (or one of its spans): a ``Feedback`` or an ``Expectation``."""

    name: str
    source: AssessmentSource
    trace_id: str | None = None
    run_id: str | None = None
    rationale: str | None = None
    metadata: dict[str, str] | None = None
    span_id: str | None = None
    create_time_ms: int | None = None
    last_update_time_ms: int | None = None
    assessment_id: str | None = None
    error: AssessmentError | None = None
    expectation: ExpectationValue | None = None
    feedback: FeedbackValue | None = None
    issue: Any = None
    overrides: str | None = None
    valid: bool | None = None

    def __post_init__(self) -> None:
        kinds = (self.expectation is not None) + (self.feedback is not None)
        if kinds + (self.issue is not None) != 1:
            raise _invalid(
                "Exactly one of `expectation`, `feedback`, or `issue` should be specified."
            )
        if self.error is not None:
            if self.expectation is not None:
                raise _invalid("Cannot set `error` when `expectation` is specified.")
            if self.feedback is None:
                raise _invalid("Cannot set `error` when `feedback` is not specified.")
            self.feedback.error = self.error
        now = int(time.time() * 1000)
        if self.create_time_ms is None:
            self.create_time_ms = now
        if self.last_update_time_ms is None:
            self.last_update_time_ms = now
        if not isinstance(self.source, AssessmentSource):
            raise _invalid(
                "`source` must be an instance of `AssessmentSource`. "
                f"Got {type(self.source)} instead."
            )
        if self.run_id is None and self.metadata and SOURCE_RUN_ID in self.metadata:
            self.run_id = self.metadata[SOURCE_RUN_ID]

    def to_dictionary(self) -> dict[str, Any]:
        """MLflow's dict of the assessment (``MessageToDict`` of its protobuf)."""
        result: dict[str, Any] = {}
        if self.assessment_id:
            result["assessment_id"] = self.assessment_id
        result["assessment_name"] = self.name
        result["trace_id"] = self.trace_id or ""
        if self.span_id:
            result["span_id"] = self.span_id
        result["source"] = self.source._proto_dict()
        result["create_time"] = proto_timestamp(int(self.create_time_ms or 0))
        result["last_update_time"] = proto_timestamp(int(self.last_update_time_ms or 0))
        if self.expectation is not None:
            result["expectation"] = self.expectation.to_dictionary()
        elif self.feedback is not None:
            result["feedback"] = self.feedback.to_dictionary()
        if self.rationale:
            result["rationale"] = self.rationale
        if self.metadata:
            result["metadata"] = {str(k): str(v) for k, v in self.metadata.items()}
        if self.overrides:
            result["overrides"] = self.overrides
        if self.valid is not None:
            result["valid"] = self.valid
        return result

    @classmethod
    def from_dictionary(cls, d: dict[str, Any]) -> Assessment:
        """A ``Feedback`` or ``Expectation`` from ``to_dictionary`` output."""
        if d.get("expectation"):
            return Expectation.from_dictionary(d)
        if d.get("feedback"):
            return Feedback.from_dictionary(d)
        raise _invalid(f"Unknown assessment type: {d.get('assessment_name')}")


def _times(d: dict[str, Any]) -> tuple[int, int]:
    return parse_request_time(d["create_time"]), parse_request_time(d["last_update_time"])


@dataclass(init=False)
class Feedback(Assessment):
    """A judgement of an operation's output: ``value`` (float, int, str, bool, or a list or
    dict of them) and/or ``error``, with a ``rationale``; the source defaults to CODE."""

    def __init__(
        self,
        name: str = DEFAULT_FEEDBACK_NAME,
        value: Any = None,
        error: Exception | AssessmentError | str | None = None,
        source: AssessmentSource | None = None,
        trace_id: str | None = None,
        metadata: dict[str, str] | None = None,
        span_id: str | None = None,
        create_time_ms: int | None = None,
        last_update_time_ms: int | None = None,
        rationale: str | None = None,
        overrides: str | None = None,
        valid: bool = True,
    ) -> None:
        if source is None:
            source = AssessmentSource(source_type=AssessmentSourceType.CODE)
        if isinstance(error, Exception):
            error = AssessmentError(
                error_message=str(error),
                error_code=error.__class__.__name__,
                stack_trace=_stacktrace(error),
            )
        elif isinstance(error, str):
            error = AssessmentError(error_message=error, error_code="ASSESSMENT_ERROR")
        elif error is not None and not isinstance(error, AssessmentError):
            raise _invalid(
                f"'error' must be an Exception, AssessmentError, or string. Got: {type(error)}"
            )
        super().__init__(
            name=name,
            source=source,
            trace_id=trace_id,
            metadata=metadata,
            span_id=span_id,
            create_time_ms=create_time_ms,
            last_update_time_ms=last_update_time_ms,
            feedback=FeedbackValue(value=value, error=error),
            rationale=rationale,
            overrides=overrides,
            valid=valid,
        )
        self.error = error

    @property
    def value(self) -> Any:
        assert self.feedback is not None
        return self.feedback.value

    @value.setter
    def value(self, value: Any) -> None:
        assert self.feedback is not None
        self.feedback.value = value

    @property
    def error_code(self) -> str | None:
        """The error's code, if the feedback has an error."""
        error = self.feedback.error if self.feedback else None
        return error.error_code if error else None

    @property
    def error_message(self) -> str | None:
        """The error's message, if the feedback has an error."""
        error = self.feedback.error if self.feedback else None
        return error.error_message if error else None

    @classmethod
    def from_dictionary(cls, d: dict[str, Any]) -> Feedback:
        raw = d.get("feedback")
        if not raw:
            raise _invalid("`feedback` must exist in the dictionary.")
        value = FeedbackValue.from_dictionary(raw)
        created, updated = _times(d)
        feedback = cls(
            trace_id=d.get("trace_id"),
            name=d["assessment_name"],
            source=AssessmentSource.from_dictionary(d["source"]),
            create_time_ms=created,
            last_update_time_ms=updated,
            value=value.value,
            error=value.error,
            rationale=d.get("rationale"),
            metadata=d.get("metadata"),
            span_id=d.get("span_id"),
            overrides=d.get("overrides"),
            valid=d.get("valid", True),
        )
        feedback.assessment_id = d.get("assessment_id") or None
        return feedback


@dataclass(init=False)
class Expectation(Assessment):
    """An expected value for an operation (ground truth, any JSON value); the source
    defaults to HUMAN."""

    def __init__(
        self,
        name: str,
        value: Any,
        source: AssessmentSource | None = None,
        trace_id: str | None = None,
        metadata: dict[str, str] | None = None,
        span_id: str | None = None,
        create_time_ms: int | None = None,
        last_update_time_ms: int | None = None,
    ) -> None:
        if source is None:
            source = AssessmentSource(source_type=AssessmentSourceType.HUMAN)
        if value is None:
            raise _invalid("The `value` field must be specified.")
        super().__init__(
            name=name,
            source=source,
            trace_id=trace_id,
            metadata=metadata,
            span_id=span_id,
            create_time_ms=create_time_ms,
            last_update_time_ms=last_update_time_ms,
            expectation=ExpectationValue(value=value),
        )

    @property
    def value(self) -> Any:
        assert self.expectation is not None
        return self.expectation.value

    @value.setter
    def value(self, value: Any) -> None:
        assert self.expectation is not None
        self.expectation.value = value

    @classmethod
    def from_dictionary(cls, d: dict[str, Any]) -> Expectation:
        raw = d.get("expectation")
        if not raw:
            raise _invalid("`expectation` must exist in the dictionary.")
        created, updated = _times(d)
        expectation = cls(
            trace_id=d.get("trace_id"),
            name=d["assessment_name"],
            source=AssessmentSource.from_dictionary(d["source"]),
            create_time_ms=created,
            last_update_time_ms=updated,
            value=ExpectationValue.from_dictionary(raw).value,
            metadata=d.get("metadata"),
            span_id=d.get("span_id"),
        )
        expectation.assessment_id = d.get("assessment_id") or None
        return expectation


def _stacktrace(error: BaseException) -> str:
    message = repr(error)
    try:
        return (message + "".join(traceback.format_exception(error))).strip()
    except Exception:
        return message
