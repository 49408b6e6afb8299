"""MLflow 3's assessment API: ``log_feedback``, ``log_expectation``, ``log_assessment``,
``get_assessment``, ``update_assessment``, ``override_feedback``, ``delete_assessment``.

Assessments live in the local trace store (``store.assessments``). Each call first writes
what this process has pending to the store (as reads do), so a trace that just ended can be
assessed at once; a trace still running (the active one) can be assessed too, and its
assessments appear once it is written.

``MlflowExperiment`` destinations get every change too, with the same assessment ids: after
the trace (the call waits up to ``ASSESSMENT_FLUSH_S`` for queued traces to reach the server;
a failure is a warning); those of a trace still running are sent right after the trace. With
only MLflow servers as destinations, ``log_*`` sends to them alone (and raises if that
fails); ``get``/``update``/``override``/``delete`` then need the local store.

Signatures, defaults and errors are MLflow's (``MlflowException``, with
``RESOURCE_DOES_NOT_EXIST`` for a missing trace or assessment).
Example::

    fb = mlflow.log_feedback(trace_id=trace_id, name="correct", value=True)
    mlflow.override_feedback(trace_id=trace_id, assessment_id=fb.assessment_id, value=False)
    mlflow.search_traces(filter_string="feedback.correct = 'false'")
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb._internal.tracer.fluent import get_active_trace_id
from mlflow_trace_nb.entities.assessment import (
    DEFAULT_FEEDBACK_NAME,
    Assessment,
    AssessmentError,
    AssessmentSource,
    Expectation,
    Feedback,
)
from mlflow_trace_nb.errors import MlflowException
from mlflow_trace_nb.store.assessments import new_id, updated_assessment
from mlflow_trace_nb.store.limits import MAX_KEY_CHARS, clean_text

__all__ = [
    "delete_assessment",
    "get_assessment",
    "log_assessment",
    "log_expectation",
    "log_feedback",
    "override_feedback",
    "update_assessment",
]


_logger = logging.getLogger("mlflow_trace_nb")


def _remotes() -> list[Any]:
    """The MLflow server destinations (``MlflowExperiment``), which take assessments too."""
    return [e for e in RUNTIME.exporters if callable(getattr(e, "send_assessment", None))]


def _forward(call: Callable[[Any], None]) -> None:
    """Repeat a change on every MLflow server destination; a failure is a warning (the
    local store has the assessment)."""
    for remote in _remotes():
        try:
            call(remote)
        except Exception as error:
            _logger.warning(
                "mlflow-trace-nb: could not send an assessment change to %r: %s", remote, error
            )


def _send_change(call: Callable[[Any], None]) -> None:
    """Make a change on every MLflow server destination when they are the only ones: a
    failure raises (nothing else keeps the change)."""
    remotes = _remotes()
    if not remotes:
        raise _no_destination()
    for remote in remotes:
        try:
            call(remote)
        except Exception as error:
            raise MlflowException(
                f"Could not send the assessment change to {remote!r}: {error}", "INTERNAL_ERROR"
            ) from error


def _id(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise MlflowException(f"`{what}` must be a string, got {type(value).__name__}")
    return clean_text(value, MAX_KEY_CHARS)


def _check(assessment: Any) -> Assessment:
    if not isinstance(assessment, (Feedback, Expectation)):
        raise MlflowException(
            f"`assessment` must be a Feedback or an Expectation, got {type(assessment).__name__}"
        )
    if not isinstance(assessment.name, str):
        raise MlflowException(f"The assessment name must be a string, got {assessment.name!r:.60}")
    return assessment


def _remote_only() -> bool:
    """True when no local store is among the destinations (only MLflow servers keep the
    traces, and their assessments)."""
    return RUNTIME.store not in RUNTIME.exporters


def _no_destination() -> MlflowException:
    return MlflowException(
        "Assessments are stored in the local trace store or sent to an MLflow server; "
        "set_destination() names neither"
    )


def _get_remotely(trace_id: str, assessment_id: str) -> Assessment:
    """The assessment as the first MLflow server destination that has the trace keeps it."""
    from mlflow_trace_nb._internal.remote.client import get_remote_trace
    from mlflow_trace_nb.exporters.mlflow_server import ASSESSMENT_FLUSH_S

    remotes = _remotes()
    if not remotes:
        raise _no_destination()
    for remote in remotes:
        remote.flush(ASSESSMENT_FLUSH_S)  # the trace may still be on its way
        trace = get_remote_trace(remote.tracking_uri, trace_id)
        if trace is None:
            continue
        for assessment in trace.info.assessments or []:
            if isinstance(assessment, Assessment) and assessment.assessment_id == assessment_id:
                return assessment
        break
    raise MlflowException(
        f"Assessment with ID '{assessment_id}' not found for trace '{trace_id}'",
        "RESOURCE_DOES_NOT_EXIST",
    )


def get_assessment(trace_id: str, assessment_id: str) -> Assessment:
    """The assessment with this id on the trace (``Feedback`` or ``Expectation``); read from
    the MLflow server when it is the only destination."""
    trace_id, assessment_id = _id(trace_id, "trace_id"), _id(assessment_id, "assessment_id")
    RUNTIME.flush_for_read()
    if _remote_only():
        return _get_remotely(trace_id, assessment_id)
    return RUNTIME.store.get_assessment(trace_id, assessment_id)


def log_assessment(trace_id: str, assessment: Assessment) -> Assessment:
    """Log a ``Feedback`` or ``Expectation`` to the trace; returns it with its new id."""
    _check(assessment)
    if trace_id is None or trace_id == "":  # no trace (tracing disabled): nothing to attach to
        assessment.trace_id = trace_id
        return assessment
    trace_id = _id(trace_id, "trace_id")
    assessment.trace_id = trace_id
    RUNTIME.flush_for_read()
    running = trace_id == get_active_trace_id()
    if RUNTIME.store not in RUNTIME.exporters:  # only MLflow servers keep the traces
        return _log_remotely(assessment, running)
    stored = RUNTIME.store.create_assessment(assessment, trace_must_exist=not running)
    if running:  # not on the servers yet: sent right after the trace
        _forward(lambda remote: remote.defer_assessment(stored))
    else:
        _forward(lambda remote: remote.send_assessment(stored))
    return stored


def _log_remotely(assessment: Assessment, running: bool) -> Assessment:
    remotes = _remotes()
    if not remotes:
        raise _no_destination()
    assessment.assessment_id = assessment.assessment_id or new_id()
    for remote in remotes:
        if running:
            remote.defer_assessment(assessment)
            continue
        try:
            remote.send_assessment(assessment)
        except Exception as error:
            raise MlflowException(
                f"Could not send the assessment to {remote!r}: {error}", "INTERNAL_ERROR"
            ) from error
    return assessment


def log_feedback(
    *,
    trace_id: str,
    name: str = DEFAULT_FEEDBACK_NAME,
    value: Any = None,
    source: AssessmentSource | None = None,
    error: Exception | AssessmentError | None = None,
    rationale: str | None = None,
    metadata: dict[str, Any] | None = None,
    span_id: str | None = None,
) -> Assessment:
    """Log feedback (a judgement: a float, int, str, bool, or a list or dict of them; or an
    ``error``) to a trace; the source defaults to CODE. Keyword arguments only."""
    assessment = Feedback(
        name=name,
        source=source,
        value=value,
        error=error,
        rationale=rationale,
        metadata=metadata,
        span_id=span_id,
    )
    return log_assessment(trace_id, assessment)


def log_expectation(
    *,
    trace_id: str,
    name: str,
    value: Any,
    source: AssessmentSource | None = None,
    metadata: dict[str, Any] | None = None,
    span_id: str | None = None,
) -> Assessment:
    """Log an expectation (ground truth, any JSON value) to a trace; the source defaults to
    HUMAN. Keyword arguments only."""
    assessment = Expectation(
        name=name, source=source, value=value, metadata=metadata, span_id=span_id
    )
    return log_assessment(trace_id, assessment)


def update_assessment(trace_id: str, assessment_id: str, assessment: Assessment) -> Assessment:
    """Change an assessment in place: its name, value (or error), rationale and metadata
    (merged) from ``assessment``; source and span stay. Returns the updated assessment."""
    trace_id, assessment_id = _id(trace_id, "trace_id"), _id(assessment_id, "assessment_id")
    _check(assessment)
    RUNTIME.flush_for_read()
    if _remote_only():
        updated = updated_assessment(
            _get_remotely(trace_id, assessment_id),
            trace_id,
            assessment.name,
            assessment.expectation,
            assessment.feedback,
            assessment.rationale,
            assessment.metadata,
        )
        _send_change(lambda remote: remote.update_assessment(updated))
        return updated
    updated = RUNTIME.store.update_assessment(
        trace_id=trace_id,
        assessment_id=assessment_id,
        name=assessment.name,
        expectation=assessment.expectation,
        feedback=assessment.feedback,
        rationale=assessment.rationale,
        metadata=assessment.metadata,
    )
    _forward(lambda remote: remote.update_assessment(updated))
    return updated


def override_feedback(
    *,
    trace_id: str,
    assessment_id: str,
    value: Any,
    rationale: str | None = None,
    source: AssessmentSource | None = None,
    metadata: dict[str, Any] | None = None,
) -> Assessment:
    """Log a new feedback replacing ``assessment_id`` (its ``overrides``); the old one is
    kept, marked ``valid=False``. Returns the new feedback."""
    old = get_assessment(trace_id, assessment_id)
    if not isinstance(old, Feedback):
        raise MlflowException(
            f"The assessment with ID {assessment_id} is not a feedback assessment."
        )
    new = Feedback(
        name=old.name,
        span_id=old.span_id,
        value=value,
        rationale=rationale,
        source=source,
        metadata=metadata,
        overrides=old.assessment_id,
    )
    return log_assessment(trace_id, new)


def delete_assessment(trace_id: str, assessment_id: str) -> None:
    """Delete an assessment (no error if it is already gone); a feedback it overrode becomes
    valid again."""
    trace_id, assessment_id = _id(trace_id, "trace_id"), _id(assessment_id, "assessment_id")
    RUNTIME.flush_for_read()
    if _remote_only():
        _send_change(lambda remote: remote.delete_assessment(trace_id, assessment_id))
        return
    RUNTIME.store.delete_assessment(trace_id=trace_id, assessment_id=assessment_id)
    _forward(lambda remote: remote.delete_assessment(trace_id, assessment_id))
