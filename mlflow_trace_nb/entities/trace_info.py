"""``TraceInfo``: a trace's summary, with MLflow 3's field names and the reference API's.

MLflow 3 spelling: ``trace_id``, ``trace_location``, ``request_time`` (ms),
``execution_duration`` (ms), ``state`` (a ``TraceState``), ``trace_metadata``, ``tags``,
``client_request_id``, ``request_preview``, ``response_preview``, ``assessments``.
Reference (MLflow 2) spelling, same values: ``request_id``, ``experiment_id``,
``timestamp_ms``, ``execution_time_ms``, ``status`` (the root span's status string, which
may also be CANCELLED or TIMEOUT: ``state`` ERROR), ``request_metadata``.

The store builds a ``TraceInfo`` by setting the eight reference slots directly; the MLflow 3
fields not among them are read from metadata (``keys.CLIENT_REQUEST_ID``...) or, for the
previews, from the trace's root span.
"""

from __future__ import annotations

import json
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb.entities.mlflow_format import format_request_time, parse_request_time
from mlflow_trace_nb.entities.recorded import (
    PREVIEW_CHARS,
    SCHEMA_VERSION,
    metadata_preview,
    token_usage,
    trace_cost_metadata,
    truncated_preview,
)
from mlflow_trace_nb.entities.trace_state import TraceLocation, TraceState, state_of

__all__ = ["PREVIEW_CHARS", "TraceInfo"]

_dumps = json.JSONEncoder().encode  # json.dumps's output, without its per-call set-up
_NO_EXTRA: dict[str, Any] = {  # a TraceInfo built by the store: recorded by this package
    "client_request_id": None,
    "request_preview": None,
    "response_preview": None,
    "assessments": [],
    "recorded": True,
}
#: Metadata keys holding MLflow 3 fields: not part of ``trace_metadata``.
_FIELD_KEYS = {
    keys.CLIENT_REQUEST_ID: "client_request_id",
    keys.REQUEST_PREVIEW: "request_preview",
    keys.RESPONSE_PREVIEW: "response_preview",
}


class TraceInfo:
    """A trace's summary: id, experiment, timing, state, tags and metadata."""

    _data: Any  # the trace's TraceData, set by Trace (absent on a bare TraceInfo)
    _extra: dict[str, Any]

    __slots__ = (
        "_data",
        "_extra",
        "_metadata",
        "_tags",
        "execution_time_ms",
        "experiment_id",
        "name",
        "request_id",
        "status",
        "timestamp_ms",
    )
    _tags: dict[str, str]

    def __init__(
        self,
        *,
        trace_id: str | None = None,
        trace_location: TraceLocation | None = None,
        request_time: int | None = None,
        execution_duration: int | None = None,
        state: TraceState | str | None = None,
        trace_metadata: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        client_request_id: str | None = None,
        request_preview: str | None = None,
        response_preview: str | None = None,
        assessments: list[Any] | None = None,
        request_id: str | None = None,
        experiment_id: str | None = None,
        timestamp_ms: int | None = None,
        execution_time_ms: int | None = None,
        status: str | None = None,
        request_metadata: dict[str, str] | None = None,
        name: str | None = None,
        request: str | None = None,
        response: str | None = None,
    ) -> None:
        self.request_id = str(trace_id if trace_id is not None else request_id)
        if experiment_id is None:
            experiment_id = trace_location.experiment_id if trace_location else "0"
        self.experiment_id = str(experiment_id)
        self.timestamp_ms = int(request_time if request_time is not None else timestamp_ms or 0)
        self.execution_time_ms = (
            execution_duration if execution_duration is not None else execution_time_ms
        )
        code = state if state is not None else status
        self.status = str(getattr(code, "value", code) or TraceState.STATE_UNSPECIFIED.value)
        metadata = trace_metadata if trace_metadata is not None else request_metadata
        self._metadata = dict(metadata) if metadata is not None else {}
        self.tags = dict(tags) if tags is not None else {}
        self.name = name if name is not None else self._tags.get(keys.TRACE_NAME)
        self._extra = {
            "client_request_id": client_request_id,
            "request_preview": request_preview if request_preview is not None else request,
            "response_preview": response_preview if response_preview is not None else response,
            "assessments": list(assessments or []),
            "recorded": False,
        }

    @property
    def tags(self) -> dict[str, str]:
        """Tags (string to string), with ``mlflow.traceName`` (the root span's name) as
        MLflow writes it. The dict is the trace info's own: changes to it are kept."""
        tags = self._tags
        name = self.name
        if name and keys.TRACE_NAME not in tags:
            tags = self._tags = {**tags, keys.TRACE_NAME: name}
        return tags

    @tags.setter
    def tags(self, value: dict[str, str]) -> None:
        self._tags = value

    @property
    def request_metadata(self) -> dict[str, str]:
        """Metadata, as MLflow 3's ``request_metadata`` (an alias of ``trace_metadata``) reads
        it: the stored keys plus, for a trace this package recorded, the keys MLflow writes
        (``mlflow.traceInputs``...). A new dict: change metadata through the tracing API."""
        metadata = dict(self._metadata)
        if self._extras()["recorded"]:
            for key, value in self._recorded_metadata().items():
                metadata.setdefault(key, value)
        return metadata

    @request_metadata.setter
    def request_metadata(self, value: dict[str, str]) -> None:
        self._metadata = value

    @property
    def _own_metadata(self) -> dict[str, str]:
        """The metadata as stored, without the keys computed from the trace."""
        return self._metadata

    @property
    def _own_tags(self) -> dict[str, str]:
        """The tags as stored (set by the user or a notebook cell), without the trace name."""
        return self._tags

    # MLflow 3 names -----------------------------------------------------------------------
    @property
    def trace_id(self) -> str:
        """The trace's id (``tr-`` + 32 hex digits); ``request_id`` in MLflow 2."""
        return self.request_id

    @property
    def state(self) -> TraceState:
        """OK, ERROR (also for CANCELLED/TIMEOUT spans) or IN_PROGRESS."""
        return state_of(self.status)

    @state.setter
    def state(self, value: TraceState | str) -> None:
        """Set on this copy only (as in MLflow); the stored trace keeps its state."""
        self.status = TraceState(getattr(value, "value", value)).value

    @property
    def trace_location(self) -> TraceLocation:
        """The experiment the trace belongs to."""
        return TraceLocation(self.experiment_id)

    @property
    def request_time(self) -> int:
        """Start, in ms since the epoch (``timestamp_ms``)."""
        return self.timestamp_ms

    @property
    def execution_duration(self) -> int | None:
        """Duration in ms (``execution_time_ms``); None while running."""
        return self.execution_time_ms

    @property
    def trace_metadata(self) -> dict[str, str]:
        """Metadata (string to string), without the keys holding fields of their own. For a
        trace this package recorded, also the keys MLflow 3 writes, computed from the trace
        (``entities.recorded``): ``mlflow.traceInputs``, ``mlflow.traceOutputs``,
        ``mlflow.trace_schema.version`` and, when some span has token counts,
        ``mlflow.trace.tokenUsage``. Stored keys win."""
        metadata = {k: v for k, v in self._metadata.items() if k not in _FIELD_KEYS}
        if self._extras()["recorded"]:
            for key, value in self._recorded_metadata().items():
                metadata.setdefault(key, value)
        return metadata

    def _recorded_metadata(self) -> dict[str, str]:
        try:
            data = self._data
        except AttributeError:
            return {}
        computed = {keys.SCHEMA_VERSION: SCHEMA_VERSION}
        if self.execution_time_ms is not None:  # MLflow writes these when the root ends
            computed[keys.TRACE_INPUTS] = metadata_preview(data.request)
            computed[keys.TRACE_OUTPUTS] = metadata_preview(data.response)
        usage = token_usage(data.spans)
        if usage is not None:
            computed[keys.TRACE_TOKEN_USAGE] = _dumps(usage)
        cost = trace_cost_metadata(data.spans)
        if cost is not None:
            computed[keys.TRACE_COST] = _dumps(cost)
        return computed

    def _extras(self) -> dict[str, Any]:
        try:
            return self._extra
        except AttributeError:  # built by the store: no MLflow 3 fields given
            extra = self._extra = dict(_NO_EXTRA)
            return extra

    def _field(self, name: str, key: str) -> Any:
        value = self._extras()[name]
        return value if value is not None else self._metadata.get(key)

    @property
    def client_request_id(self) -> str | None:
        """The caller's id for the request (``update_current_trace(client_request_id=)``)."""
        value: str | None = self._field("client_request_id", keys.CLIENT_REQUEST_ID)
        return value

    @property
    def request_preview(self) -> str | None:
        """The request (root span inputs as JSON), at most ``PREVIEW_CHARS`` characters."""
        return self._preview("request_preview", keys.REQUEST_PREVIEW, "request")

    @property
    def response_preview(self) -> str | None:
        """The response (root span outputs as JSON), at most ``PREVIEW_CHARS`` characters."""
        return self._preview("response_preview", keys.RESPONSE_PREVIEW, "response")

    def _preview(self, name: str, key: str, side: str) -> str | None:
        value = self._field(name, key)
        if value is not None:
            return str(value)[:PREVIEW_CHARS]
        try:
            data = self._data
        except AttributeError:
            return None
        text = getattr(data, side, None)
        return truncated_preview(text, "user" if side == "request" else "assistant")

    @property
    def assessments(self) -> list[Any]:
        """Assessments logged on the trace (``Feedback`` and ``Expectation``, oldest first)."""
        return list(self._extras()["assessments"])

    # Serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The summary as MLflow 3's ``TraceInfo.to_dict`` writes it (empty fields left out,
        ``request_time`` as a protobuf JSON timestamp)."""
        tags = dict(self.tags)
        if self.name and keys.TRACE_NAME not in tags:
            tags[keys.TRACE_NAME] = self.name
        result: dict[str, Any] = {
            "trace_id": self.trace_id,
            "client_request_id": self.client_request_id,
            "trace_location": self.trace_location.to_dict(),
            "request_time": format_request_time(self.request_time),
            "state": self.state.value,
            "trace_metadata": self.trace_metadata,
            "tags": tags,
            "request_preview": self.request_preview,
            "response_preview": self.response_preview,
            "assessments": [_plain(a) for a in self.assessments],
            "execution_duration_ms": self.execution_duration,
        }
        return {k: v for k, v in result.items() if v is not None and v != {} and v != []}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceInfo:
        """Build from ``to_dict`` output (MLflow 3) or an MLflow 2 dict (``request_id``...)."""
        if "request_id" in data:
            return cls(
                request_id=data["request_id"],
                experiment_id=data.get("experiment_id"),
                timestamp_ms=data.get("timestamp_ms"),
                execution_time_ms=data.get("execution_time_ms"),
                status=data.get("status"),
                request_metadata=data.get("request_metadata"),
                tags=data.get("tags"),
                name=data.get("name"),
            )
        duration = data.get("execution_duration_ms", data.get("execution_duration"))
        if isinstance(duration, str):  # protobuf JSON duration, "0.100s"
            duration = round(float(duration.rstrip("s")) * 1000)
        location = data.get("trace_location")
        return cls(
            trace_id=data["trace_id"],
            trace_location=TraceLocation.from_dict(location) if location else None,
            request_time=parse_request_time(data.get("request_time") or 0),
            execution_duration=duration,
            state=data.get("state"),
            trace_metadata=data.get("trace_metadata"),
            tags=data.get("tags"),
            client_request_id=data.get("client_request_id"),
            request_preview=data.get("request_preview", data.get("request")),
            response_preview=data.get("response_preview", data.get("response")),
            assessments=[_assessment(a) for a in data.get("assessments") or []],
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TraceInfo):
            return NotImplemented
        return self.to_dict() == other.to_dict() and self.status == other.status

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"TraceInfo(trace_id={self.request_id!r}, state={self.state.value!r})"


def _assessment(value: Any) -> Any:
    """An assessment dict (MLflow's) as an ``Assessment``; anything else as it is."""
    if not isinstance(value, dict):
        return value
    from mlflow_trace_nb.entities.assessment import Assessment

    try:
        return Assessment.from_dictionary(value)
    except Exception:
        return value


def _plain(value: Any) -> Any:
    to_dict = getattr(value, "to_dictionary", None) or getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else json.loads(json.dumps(value, default=str))
