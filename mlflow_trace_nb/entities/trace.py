"""Whole traces: ``Trace`` = ``TraceInfo`` (summary) + ``TraceData`` (spans)."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.serialization import loads
from mlflow_trace_nb.entities.assessment import Expectation, Feedback
from mlflow_trace_nb.entities.span import Span
from mlflow_trace_nb.entities.trace_info import TraceInfo
from mlflow_trace_nb.errors import MlflowException

#: How Jupyter shows a ``Trace``: set by ``display.bundle`` (``[trace_bundle]``).
MIMEBUNDLE_HOOKS: list[Any] = []

__all__ = ["PANDAS_DATAFRAME_COLUMNS", "Trace", "TraceData", "TraceInfo"]

#: Columns of a ``search_traces`` frame (``Trace.to_pandas_dataframe_row``): MLflow 3's, in order.
PANDAS_DATAFRAME_COLUMNS = (
    "trace_id",
    "trace",
    "client_request_id",
    "state",
    "request_time",
    "execution_duration",
    "request",
    "response",
    "trace_metadata",
    "tags",
    "spans",
    "assessments",
)


def _as_json_dumps(text: str) -> str | None:
    """Stored JSON text spaced as ``json.dumps`` writes it (as MLflow's request/response);
    None for ``null``."""
    try:
        return _json_or_none(json.loads(text))
    except ValueError:
        return text


_ENCODE = json.JSONEncoder(ensure_ascii=False).encode  # one encoder, not one per call


def _json_or_none(value: Any) -> str | None:
    return None if value is None else _ENCODE(value)


class TraceData:
    """A trace's spans, plus its request and response (the root span's inputs and outputs)."""

    __slots__ = ("_request", "_request_json", "_response", "_response_json", "spans")

    _request_json: str | None  # the stored request/response as MLflow writes it, once read
    _response_json: str | None

    def __init__(
        self,
        spans: list[Span] | None = None,
        request: str | None = None,
        response: str | None = None,
    ) -> None:
        self.spans = spans if spans is not None else []  # MLflow's TraceData() is empty
        self._request = request
        self._response = response

    @property
    def root(self) -> Span | None:
        """The span without a parent (the first one if several); in a trace continued from
        another process and stored apart, the first span whose parent is not in the trace."""
        root = next((s for s in self.spans if s.parent_id is None), None)
        if root is None and self.spans:
            span_ids = {s.span_id for s in self.spans}
            root = next((s for s in self.spans if s.parent_id not in span_ids), None)
        return root

    @property
    def request(self) -> str | None:
        """The root span's inputs as JSON text (None if it has none), as MLflow's
        ``TraceData.request``."""
        try:
            return self._request_json
        except AttributeError:
            pass
        if self._request is None:  # from the spans, which may change: not cached
            root = self.root
            return None if root is None else _json_or_none(root.inputs)
        value = self._request_json = _as_json_dumps(self._request)  # stored text: read once
        return value

    @property
    def response(self) -> str | None:
        """The root span's outputs as JSON text (None if it has none), as MLflow's
        ``TraceData.response``."""
        try:
            return self._response_json
        except AttributeError:
            pass
        if self._response is None:  # from the spans, which may change: not cached
            root = self.root
            return None if root is None else _json_or_none(root.outputs)
        value = self._response_json = _as_json_dumps(self._response)  # stored text: read once
        return value

    @property
    def intermediate_outputs(self) -> dict[str, Any] | None:
        """The root span's ``mlflow.trace.intermediate_outputs`` attribute, else the outputs
        of the other spans by name (repeated names numbered ``_1``, ``_2``...), as MLflow's;
        None for a trace of one span."""
        root = self.root
        if root is not None and root.get_attribute(keys.INTERMEDIATE_OUTPUTS):
            value: dict[str, Any] = root.get_attribute(keys.INTERMEDIATE_OUTPUTS)
            return value
        if len(self.spans) < 2:
            return None
        counts = Counter(span.name for span in self.spans)
        next_index = {name: 1 for name, count in counts.items() if count > 1}
        result: dict[str, Any] = {}
        for span in self.spans:
            name = span.name
            index = next_index.get(name)
            if index is not None:
                next_index[name] = index + 1
                name = f"{name}_{index}"
            if span.parent_id and span.outputs is not None:
                result[name] = span.outputs
        return result

    def to_dict(self) -> dict[str, Any]:
        """``{"spans": [...]}``, each span as MLflow 3's ``Span.to_dict``."""
        return {"spans": [span.to_dict() for span in self.spans]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceData:
        """Inverse of ``to_dict``."""
        if not isinstance(data, dict):
            raise TypeError(
                f"TraceData.from_dict() expects a dictionary. Got: {type(data).__name__}"
            )
        return cls([Span.from_dict(span) for span in data.get("spans", [])])


class Trace:
    """A whole trace: ``info`` (summary) and ``data`` (spans).

    The summary fields are also reachable directly (``trace.request_id``, ``trace.status``,
    ``trace.spans``...) as in the reference API.
    """

    __slots__ = ("data", "info")

    def __init__(self, info: TraceInfo, data: TraceData) -> None:
        self.info = info
        self.data = data
        info._data = data  # the previews fall back on the root span

    request_id = property(lambda self: self.info.request_id, doc="The trace's id.")
    trace_id = property(lambda self: self.info.request_id, doc="Alias of ``request_id``.")
    experiment_id = property(lambda self: self.info.experiment_id, doc="Experiment id.")
    timestamp_ms = property(lambda self: self.info.timestamp_ms, doc="Start, ms since epoch.")
    execution_time_ms = property(lambda self: self.info.execution_time_ms, doc="Duration, ms.")
    status = property(lambda self: self.info.status, doc="The root span's status.")
    request_metadata = property(
        lambda self: self.info._own_metadata,
        doc="Metadata as stored (the reference API's); ``info.request_metadata`` is MLflow 3's.",
    )
    tags = property(lambda self: self.info.tags, doc="Tags (string to string).")
    name = property(lambda self: self.info.name, doc="The root span's name.")

    @property
    def spans(self) -> list[Span]:
        """Every span of the trace, in start order."""
        return self.data.spans

    def search_spans(
        self,
        span_type: str | None = None,
        name: str | re.Pattern[str] | None = None,
        span_id: str | None = None,
    ) -> list[Span]:
        """Return the spans matching a type, a name (string or compiled regex) and/or an id;
        a ``span_type`` that is not a string, or a ``name`` neither string nor pattern, raises
        ``MlflowException`` as MLflow's (even on a trace without spans: MLflow checks them
        per span, so it raises only when there is one)."""
        if self.data.spans:
            if name is not None and not isinstance(name, (str, re.Pattern)):
                raise MlflowException(
                    f"Invalid type for 'name'. Expected str or re.Pattern. Got: {type(name)}"
                )
            if span_type is not None and not isinstance(span_type, str):
                raise MlflowException(
                    "Invalid type for 'span_type'. Expected str or mlflow.entities.SpanType. "
                    f"Got: {type(span_type)}"
                )
        found = []
        for span in self.data.spans:
            if span_type is not None and span.span_type != span_type:
                continue
            if span_id is not None and span.span_id != span_id:
                continue
            if isinstance(name, re.Pattern):
                if not name.search(span.name):
                    continue
            elif name is not None and span.name != name:
                continue
            found.append(span)
        return found

    def search_assessments(
        self,
        name: str | None = None,
        *,
        span_id: str | None = None,
        all: bool = False,  # MLflow's keyword names
        type: str | None = None,  # "feedback" or "expectation"
    ) -> list[Any]:
        """The trace's assessments with that name / span id / type ("feedback" or
        "expectation"); only valid ones (not overridden) unless ``all``, as MLflow's."""
        wanted = {"expectation": Expectation, "feedback": Feedback}.get(type) if type else None
        return [
            a
            for a in self.info.assessments
            if (name is None or a.name == name)
            and (span_id is None or a.span_id == span_id)
            and (all or a.valid in (True, None))
            and (wanted is None or isinstance(a, wanted))
        ]

    @staticmethod
    def pandas_dataframe_columns() -> list[str]:
        """The columns of ``to_pandas_dataframe_row`` (and of ``search_traces`` frames)."""
        return list(PANDAS_DATAFRAME_COLUMNS)

    def to_pandas_dataframe_row(self) -> dict[str, Any]:
        """The trace as one ``search_traces`` frame row (column -> value), as MLflow's."""
        info = self.info
        return {
            "trace_id": info.trace_id,
            "trace": self.to_json(),
            "client_request_id": info.client_request_id,
            "state": info.state,
            "request_time": info.request_time,
            "execution_duration": info.execution_duration,
            "request": loads(self.data.request),
            "response": loads(self.data.response),
            "trace_metadata": info.trace_metadata,
            "tags": info.tags,
            "spans": [span.to_dict() for span in self.data.spans],
            "assessments": [a.to_dictionary() for a in info.assessments],
        }

    def to_dict(self) -> dict[str, Any]:
        """``{"info": {...}, "data": {"spans": [...]}}`` in MLflow 3's format."""
        return {"info": self.info.to_dict(), "data": self.data.to_dict()}

    def to_json(self, pretty: bool = False) -> str:
        """``to_dict()`` as JSON text (indented by 2 if ``pretty``)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2 if pretty else None)

    @classmethod
    def from_dict(cls, trace_dict: dict[str, Any]) -> Trace:
        """Build a trace from ``to_dict`` output (this package's or MLflow 3's)."""
        info = trace_dict.get("info")
        data = trace_dict.get("data")
        if info is None or data is None:
            raise MlflowException(
                "Unable to parse Trace from dictionary. Expected keys: 'info' and 'data'. "
                f"Received keys: {list(trace_dict.keys())}"
            )
        return cls(TraceInfo.from_dict(info), TraceData.from_dict(data))

    @classmethod
    def from_json(cls, trace_json: str) -> Trace:
        """Build a trace from ``to_json`` output."""
        try:
            trace_dict = json.loads(trace_json)
        except json.JSONDecodeError as e:
            raise MlflowException(f"Unable to parse trace JSON: {trace_json}. Error: {e}") from e
        return cls.from_dict(trace_dict)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """Jupyter shows a ``Trace`` as the span-tree widget (static HTML fallback); the view
        is registered by ``display.bundle`` (imported with the package), so entities import
        nothing above them."""
        hook = MIMEBUNDLE_HOOKS[0] if MIMEBUNDLE_HOOKS else None
        if hook is None:
            return {"text/plain": repr(self)}
        bundle: dict[str, Any] = hook([self])
        return bundle

    def __repr__(self) -> str:
        return (
            f"Trace(request_id={self.request_id!r}, name={self.name!r}, "
            f"status={self.status!r}, spans={len(self.data.spans)})"
        )
