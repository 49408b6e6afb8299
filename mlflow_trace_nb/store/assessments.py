"""Assessments (MLflow 3's feedback and expectations) in the SQLite store's ``assessments``
table (migration ``m002_assessments``).

Writes come from the user's thread: each is one ``BEGIN IMMEDIATE`` transaction on the
store's write connection, under the same write lock the background writer holds for a batch,
so the two never interleave. Reads use the read connection's snapshot (``_reading``).
Values, errors and metadata are JSON as ``json.dumps`` writes it (lone surrogates replaced
by U+FFFD); names, ids and rationales are cleaned as every stored text is (``store.limits``).
Errors are MLflow's: ``MlflowException`` with ``RESOURCE_DOES_NOT_EXIST`` for a missing trace or
assessment, ``INVALID_PARAMETER_VALUE`` for a value that cannot be stored.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mlflow_trace_nb._internal.serialization import fix_surrogates
from mlflow_trace_nb.entities.assessment import (
    Assessment,
    AssessmentError,
    AssessmentSource,
    Expectation,
    ExpectationValue,
    Feedback,
    FeedbackValue,
    proto_value,
)
from mlflow_trace_nb.errors import MlflowException
from mlflow_trace_nb.store.handles import StoreHandles, read_retrying
from mlflow_trace_nb.store.limits import MAX_KEY_CHARS, MAX_NAME_CHARS, clean_text

__all__ = [
    "ASSESSMENT_COLUMNS",
    "MAX_ASSESSMENT_VALUE_CHARS",
    "AssessmentStore",
    "new_id",
    "updated_assessment",
]

ASSESSMENT_COLUMNS = (
    "assessment_id",
    "request_id",
    "name",
    "kind",
    "value",
    "source_type",
    "source_id",
    "span_id",
    "rationale",
    "error",
    "metadata",
    "overrides",
    "valid",
    "create_time_ms",
    "last_update_time_ms",
)
_SELECT = ", ".join(ASSESSMENT_COLUMNS)
_INSERT = f"INSERT INTO assessments ({_SELECT}) VALUES ({', '.join('?' * len(ASSESSMENT_COLUMNS))})"
#: Longest JSON text of one value, rationale or metadata mapping (a larger one raises).
MAX_ASSESSMENT_VALUE_CHARS = 16_000_000
_MAX_RATIONALE_CHARS = 1_000_000
_NOT_FOUND = "RESOURCE_DOES_NOT_EXIST"
_T = TypeVar("_T")


def new_id() -> str:
    """An assessment id as MLflow makes them: ``a-`` + 32 hex digits."""
    return f"a-{uuid.uuid4().hex}"


def updated_assessment(
    existing: Assessment,
    trace_id: str,
    name: str | None,
    expectation: ExpectationValue | None,
    feedback: FeedbackValue | None,
    rationale: str | None,
    metadata: dict[str, Any] | None,
) -> Assessment:
    """``existing`` changed as MLflow's ``update_assessment`` does: source and span stay,
    metadata is merged, ``last_update_time_ms`` becomes now (wherever it is stored)."""
    if expectation is not None and feedback is not None:
        raise MlflowException("Cannot specify both `expectation` and `feedback` parameters.")
    if expectation is not None and not isinstance(existing, Expectation):
        raise MlflowException("Cannot update expectation value on a Feedback assessment.")
    if feedback is not None and not isinstance(existing, Feedback):
        raise MlflowException("Cannot update feedback value on an Expectation assessment.")
    merged = None
    if existing.metadata or metadata:
        merged = dict(existing.metadata or {})
        merged.update(metadata or {})
    kept: dict[str, Any] = {  # what every kind of assessment keeps or takes
        "name": name if name is not None else existing.name,
        "source": existing.source,
        "trace_id": trace_id,
        "metadata": merged,
        "span_id": existing.span_id,
        "create_time_ms": existing.create_time_ms,
        "last_update_time_ms": int(time.time() * 1000),
    }
    updated: Assessment
    if isinstance(existing, Expectation):
        value = expectation.value if expectation is not None else existing.value
        updated = Expectation(value=value, **kept)
    else:
        assert isinstance(existing, Feedback)
        updated = Feedback(
            value=feedback.value if feedback is not None else existing.value,
            error=feedback.error if feedback is not None else existing.error,
            rationale=rationale if rationale is not None else existing.rationale,
            **kept,
        )
    updated.assessment_id = existing.assessment_id
    updated.valid = existing.valid
    updated.overrides = existing.overrides
    return updated


def _json(value: Any, what: str) -> str:
    """``value`` as ``json.dumps`` writes it (as MLflow stores it), lone surrogates replaced
    by U+FFFD so that what is read back can be encoded as UTF-8 everywhere."""
    try:
        text = json.dumps(value, ensure_ascii=False)
        if not text.isascii():
            text = json.dumps(json.loads(fix_surrogates(text)))
    except (TypeError, ValueError) as error:
        raise MlflowException(
            f"Failed to serialize {what} {value!r:.200} to JSON string. "
            f"The {what} must be JSON-serializable.",
        ) from error
    if len(text) > MAX_ASSESSMENT_VALUE_CHARS:
        raise MlflowException(
            f"The {what} is {len(text):,} characters as JSON; at most "
            f"{MAX_ASSESSMENT_VALUE_CHARS:,} can be stored"
        )
    return text


def _optional(value: Any, cap: int) -> str | None:
    return None if value is None else clean_text(value, cap)


def to_row(assessment: Assessment) -> tuple[Any, ...]:
    """The ``assessments`` row of an assessment (which has its id and trace id set)."""
    error_json = None
    if assessment.feedback is not None:
        kind = "feedback"
        proto_value(assessment.feedback.value)  # MLflow's check of a feedback value's type
        value = _json(assessment.feedback.value, "feedback value")
        if assessment.feedback.error is not None:
            error_json = _json(assessment.feedback.error.to_dictionary(), "feedback error")
    elif assessment.expectation is not None:
        kind = "expectation"
        value = _json(assessment.expectation.value, "expectation value")
    else:
        raise MlflowException("Only feedback and expectations can be logged to a trace.")
    metadata = assessment.metadata
    metadata_json = (
        _json({str(k): v for k, v in metadata.items()}, "metadata") if metadata else None
    )
    valid = 1 if assessment.valid is None else int(bool(assessment.valid))
    return (
        assessment.assessment_id,
        assessment.trace_id,
        clean_text(assessment.name, MAX_NAME_CHARS),
        kind,
        value,
        assessment.source.source_type,
        _optional(assessment.source.source_id, MAX_NAME_CHARS),
        _optional(assessment.span_id, MAX_KEY_CHARS),
        _optional(assessment.rationale, _MAX_RATIONALE_CHARS),
        error_json,
        metadata_json,
        _optional(assessment.overrides, MAX_KEY_CHARS),
        valid,
        int(assessment.create_time_ms or 0),
        int(assessment.last_update_time_ms or 0),
    )


def from_row(row: Sequence[Any]) -> Assessment:
    """The ``Feedback`` or ``Expectation`` of an ``assessments`` row."""
    (aid, request_id, name, kind, value, source_type, source_id, span_id, rationale) = row[:9]
    error, metadata, overrides, valid, created, updated = row[9:]
    source = AssessmentSource(source_type=source_type, source_id=source_id)
    meta = json.loads(metadata) if metadata else None
    result: Assessment
    if kind == "expectation":
        result = Expectation(
            name=name,
            value=json.loads(value),
            source=source,
            trace_id=request_id,
            metadata=meta,
            span_id=span_id,
            create_time_ms=created,
            last_update_time_ms=updated,
        )
    else:
        result = Feedback(
            name=name,
            value=None if value is None else json.loads(value),
            error=AssessmentError.from_dictionary(json.loads(error)) if error else None,
            source=source,
            trace_id=request_id,
            metadata=meta,
            span_id=span_id,
            create_time_ms=created,
            last_update_time_ms=updated,
            rationale=rationale,
            overrides=overrides,
            valid=bool(valid),
        )
    result.assessment_id = aid
    return result


class AssessmentStore(StoreHandles):
    """Assessment storage (a base of ``SqliteStore``)."""

    def _write_assessments(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``work`` in one transaction on the write connection (see ``_write_for_user``)."""
        return self._write_for_user(work, "assessment")

    def create_assessment(
        self, assessment: Assessment, *, trace_must_exist: bool = True
    ) -> Assessment:
        """Store ``assessment`` (its ``trace_id`` set) with a new id and return it; an
        ``overrides`` id marks that assessment invalid. MlflowException when the trace (unless
        ``trace_must_exist`` is False: a trace still running) or the overridden one is missing."""
        trace_id = str(assessment.trace_id)
        assessment.assessment_id = assessment.assessment_id or new_id()
        row = to_row(assessment)

        def work(conn: sqlite3.Connection) -> Assessment:
            if trace_must_exist and not _trace_exists(conn, trace_id):
                raise MlflowException(f"Trace with ID '{trace_id}' not found.", _NOT_FOUND)
            if assessment.overrides:
                updated = conn.execute(
                    "UPDATE assessments SET valid = 0 WHERE request_id = ? AND assessment_id = ?",
                    (trace_id, row[11]),
                ).rowcount
                if updated == 0:
                    raise MlflowException(
                        f"Assessment with ID '{assessment.overrides}' not found "
                        f"for trace '{trace_id}'",
                        _NOT_FOUND,
                    )
            conn.execute(_INSERT, row)
            return from_row(row)

        return self._write_assessments(work)

    @read_retrying
    def get_assessment(self, trace_id: str, assessment_id: str) -> Assessment:
        """The assessment; MlflowException (RESOURCE_DOES_NOT_EXIST) if there is none."""
        with self._reading() as conn:
            return _one(conn, trace_id, assessment_id)

    def update_assessment(
        self,
        trace_id: str,
        assessment_id: str,
        name: str | None = None,
        expectation: ExpectationValue | None = None,
        feedback: FeedbackValue | None = None,
        rationale: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Assessment:
        """Change an assessment in place, as MLflow's store does: source and span stay,
        metadata is merged, ``last_update_time_ms`` becomes now."""
        if expectation is not None and feedback is not None:  # before touching the file
            raise MlflowException("Cannot specify both `expectation` and `feedback` parameters.")

        def work(conn: sqlite3.Connection) -> Assessment:
            existing = _one(conn, trace_id, assessment_id)
            updated = updated_assessment(
                existing, trace_id, name, expectation, feedback, rationale, metadata
            )
            row = to_row(updated)
            conn.execute(
                "UPDATE assessments SET name = ?, value = ?, rationale = ?, error = ?, "
                "metadata = ?, last_update_time_ms = ? WHERE request_id = ? AND assessment_id = ?",
                (row[2], row[4], row[8], row[9], row[10], row[14], trace_id, assessment_id),
            )
            return updated

        return self._write_assessments(work)

    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        """Delete an assessment (nothing happens if there is none); the one it overrode, if
        any, becomes valid again."""

        def work(conn: sqlite3.Connection) -> None:
            found = conn.execute(
                "SELECT overrides FROM assessments WHERE request_id = ? AND assessment_id = ?",
                (trace_id, assessment_id),
            ).fetchone()
            if found is None:
                return
            if found[0]:
                conn.execute(
                    "UPDATE assessments SET valid = 1 WHERE request_id = ? AND assessment_id = ?",
                    (trace_id, found[0]),
                )
            conn.execute(
                "DELETE FROM assessments WHERE request_id = ? AND assessment_id = ?",
                (trace_id, assessment_id),
            )

        self._write_assessments(work)


def attach_assessments(conn: sqlite3.Connection, traces: Sequence[Any]) -> None:
    """Fill ``info.assessments`` of stored traces: one query for all of them (none at all
    when the table is empty), oldest first."""
    if not traces or conn.execute("SELECT 1 FROM assessments LIMIT 1").fetchone() is None:
        return
    by_trace: dict[str, list[Assessment]] = {t.info.request_id: [] for t in traces}
    rows = conn.execute(
        f"SELECT {_SELECT} FROM assessments WHERE request_id IN "
        "(SELECT value FROM json_each(?)) ORDER BY create_time_ms, rowid",
        (json.dumps(list(by_trace)),),
    ).fetchall()
    if not rows:
        return
    for row in rows:
        bucket = by_trace.get(row[1])
        if bucket is not None:
            bucket.append(from_row(row))
    for trace in traces:
        found = by_trace[trace.info.request_id]
        if found:
            trace.info._extras()["assessments"] = found


def _trace_exists(conn: sqlite3.Connection, trace_id: str) -> bool:
    row = conn.execute("SELECT 1 FROM traces WHERE request_id = ?", (trace_id,)).fetchone()
    return row is not None


def _one(conn: sqlite3.Connection, trace_id: str, assessment_id: str) -> Assessment:
    row = conn.execute(
        f"SELECT {_SELECT} FROM assessments WHERE request_id = ? AND assessment_id = ?",
        (trace_id, assessment_id),
    ).fetchone()
    if row is not None:
        return from_row(row)
    pending = conn.execute(
        "SELECT 1 FROM assessments WHERE request_id = ? LIMIT 1", (trace_id,)
    ).fetchone()
    if pending is None and not _trace_exists(conn, trace_id):
        raise MlflowException(f"Trace with request_id '{trace_id}' not found", _NOT_FOUND)
    raise MlflowException(
        f"Assessment with ID '{assessment_id}' not found for trace '{trace_id}'", _NOT_FOUND
    )
