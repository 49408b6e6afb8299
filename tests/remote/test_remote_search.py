"""Reading a real MLflow tracking server, populated by MLflow's own tracer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

import mlflow_trace_nb as nb
from mlflow_trace_nb._internal.remote.filters import to_mlflow_filter
from mlflow_trace_nb.entities import Trace
from mlflow_trace_nb.query.dataframe import SPAN_FRAME_COLUMNS, TRACE_FRAME_COLUMNS
from tests.conftest_servers import MlflowServer
from tests.helpers import set_attributes

pytest.importorskip("mlflow")


class Populated:
    """What ``populated`` logged to the server with MLflow's own client."""

    def __init__(self, uri: str, experiment_id: str) -> None:
        self.uri = uri
        self.experiment_id = experiment_id
        self.rag_id = ""
        self.error_id = ""
        self.step_ids: list[str] = []


# MLflow's tracer logs each trace before the traced call returns; its telemetry thread stays
# off (it races with request headers on this MLflow version).
_ENV = {"MLFLOW_ENABLE_ASYNC_TRACE_LOGGING": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}


@pytest.fixture(scope="module")
def populated(_mlflow_server_session: MlflowServer) -> Iterator[Populated]:
    """One experiment on the server: a RAG trace (3 spans, a tag), a failed trace, and
    five one-span traces, all written by ``mlflow`` itself."""
    old_env = {k: os.environ.get(k) for k in _ENV}
    os.environ.update(_ENV)
    import mlflow

    _mlflow_server_session.ensure_running()
    old_uri = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(_mlflow_server_session.uri)
    # MLflow builds its tracer provider once per process, for the tracking URI of the moment:
    # if an earlier test traced with real MLflow elsewhere, its traces would not reach this
    # server ("No active trace found"). Reset it so it is built for the server.
    mlflow.tracing.reset()
    try:
        experiment = mlflow.set_experiment(f"d2-remote-search-{os.getpid()}")
        data = Populated(_mlflow_server_session.uri, experiment.experiment_id)

        @mlflow.trace(span_type="RETRIEVER")
        def retrieve(query: str, top_k: int = 2) -> list[str]:
            return [f"doc {i} for {query}" for i in range(top_k)]

        @mlflow.trace(span_type="CHAIN")
        def rag(query: str) -> str:
            mlflow.update_current_trace(tags={"user": "ana"})
            docs = retrieve(query)
            with mlflow.start_span("generate", span_type="LLM") as span:
                span.set_inputs({"docs": docs})
                span.set_attribute("model_name", "gpt-4")
                span.set_outputs("an answer")
            return "an answer"

        @mlflow.trace(span_type="TOOL")
        def broken(x: int) -> None:
            raise ValueError(f"bad input {x}")

        @mlflow.trace
        def step(i: int) -> int:
            return i * 10

        rag("what is tracing?")
        data.rag_id = mlflow.get_last_active_trace_id()
        with pytest.raises(ValueError):
            broken(7)
        data.error_id = mlflow.get_last_active_trace_id()
        for i in range(5):
            step(i)
            data.step_ids.append(mlflow.get_last_active_trace_id())
        yield data
    finally:
        mlflow.set_tracking_uri(old_uri)
        for key, value in old_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _search(data: Populated, **kwargs: Any) -> Any:
    return nb.search_traces(experiment_ids=[data.experiment_id], tracking_uri=data.uri, **kwargs)


def test_frame_has_the_local_columns(populated: Populated) -> None:
    frame = _search(populated)
    assert tuple(frame.columns) == TRACE_FRAME_COLUMNS
    assert len(frame) == 7
    assert set(frame.trace_id) == {populated.rag_id, populated.error_id, *populated.step_ids}
    assert list(frame.request_time) == sorted(frame.request_time, reverse=True)  # newest first
    row = frame.set_index("trace_id").loc[populated.rag_id]
    assert row["tags"]["mlflow.traceName"] == "rag"
    assert row["state"] == "OK"
    assert row["request"] == {"query": "what is tracing?"}
    assert row["response"] == "an answer"
    assert row["tags"]["user"] == "ana"
    trace = Trace.from_json(row["trace"])
    assert trace.info.trace_location.experiment_id == populated.experiment_id
    assert row["execution_duration"] >= 0
    with nb.start_span("local", inputs={"q": 1}):
        pass
    local = nb.search_traces()  # the local store: same columns, same dtypes
    assert tuple(local.columns) == tuple(frame.columns)
    assert dict(local.dtypes) == dict(frame.dtypes)


def test_traces_keep_tree_names_types_inputs_outputs(populated: Populated) -> None:
    trace = nb.get_trace(populated.rag_id, tracking_uri=populated.uri)
    assert trace is not None
    assert trace.request_id == populated.rag_id
    spans = {s.name: s for s in trace.spans}
    assert set(spans) == {"rag", "retrieve", "generate"}
    assert trace.data.root is spans["rag"]
    assert spans["rag"].parent_id is None
    assert spans["retrieve"].parent_id == spans["rag"].span_id
    assert spans["generate"].parent_id == spans["rag"].span_id
    assert [spans[n].span_type for n in ("rag", "retrieve", "generate")] == [
        "CHAIN",
        "RETRIEVER",
        "LLM",
    ]
    assert spans["retrieve"].inputs == {"query": "what is tracing?", "top_k": 2}
    assert spans["retrieve"].outputs == ["doc 0 for what is tracing?", "doc 1 for what is tracing?"]
    assert set_attributes(spans["generate"]) == {"model_name": "gpt-4"}
    assert all(s.status_code == "OK" for s in trace.spans)
    assert all(len(s.span_id) == 16 for s in trace.spans)
    assert trace.spans == sorted(trace.spans, key=lambda s: s.start_time_ns)


def test_failed_trace_has_error_status_and_exception_event(populated: Populated) -> None:
    trace = nb.get_trace(populated.error_id, tracking_uri=populated.uri)
    assert trace is not None
    assert trace.status == "ERROR"
    (span,) = trace.spans
    assert span.status_code == "ERROR"
    assert span.inputs == {"x": 7}
    assert [e.name for e in span.events] == ["exception"]
    assert "bad input 7" in span.events[0].attributes["exception.message"]


def test_unknown_id_is_none(populated: Populated) -> None:
    assert nb.get_trace("tr-" + "0" * 32, tracking_uri=populated.uri) is None
    assert nb.get_trace("no-such-trace", tracking_uri=populated.uri) is None


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("status = 'ERROR'", "error"),
        ("attributes.status = 'OK' AND tags.user = 'ana'", "rag"),
        ("span.type = 'LLM'", "rag"),
        ("span.name = 'retrieve' AND trace.name = 'rag'", "rag"),
        ("name = 'broken'", "error"),
        ("tags.`user` LIKE 'an%'", "rag"),
        ("(status = 'OK' AND name = 'rag')", "rag"),  # parentheses around ANDs only
    ],
)
def test_filters_run_on_the_server(populated: Populated, filter_string: str, expected: str) -> None:
    frame = _search(populated, filter_string=filter_string)
    wanted = populated.rag_id if expected == "rag" else populated.error_id
    assert list(frame.trace_id) == [wanted]


def test_numeric_filter_and_in(populated: Populated) -> None:
    steps = _search(populated, filter_string="name = 'step'", return_type="list")
    first = min(t.timestamp_ms for t in steps)
    later = _search(populated, filter_string=f"name = 'step' AND timestamp_ms > {first}")
    assert 0 < len(later) < len(steps)
    picked = _search(populated, filter_string=f"request_id IN ('{populated.step_ids[0]}')")
    assert list(picked.trace_id) == [populated.step_ids[0]]


def test_max_results_and_order_by_are_pushed_down(populated: Populated) -> None:
    newest = _search(populated, max_results=2)
    assert len(newest) == 2
    assert list(newest.trace_id) == populated.step_ids[:-3:-1]  # the last two, newest first
    oldest = _search(populated, max_results=3, order_by=["timestamp_ms ASC"])
    assert list(oldest.trace_id) == [populated.rag_id, populated.error_id, populated.step_ids[0]]
    assert len(_search(populated, max_results=0)) == 0


@pytest.mark.parametrize(
    "filter_string",
    [
        "status = 'OK' OR status = 'ERROR'",
        "NOT status = 'OK'",
        "(status = 'OK' OR name = 'x') AND name = 'rag'",
    ],
)
def test_or_not_raise_a_clear_error(populated: Populated, filter_string: str) -> None:
    with pytest.raises(ValueError, match="only evaluates comparisons joined by AND"):
        _search(populated, filter_string=filter_string)


def test_bad_filter_raises_before_any_request(populated: Populated) -> None:
    with pytest.raises(ValueError, match="status"):
        _search(populated, filter_string="status = ")


def test_set_tracking_uri_sends_reads_to_the_server(populated: Populated) -> None:
    @nb.trace
    def local_only() -> int:
        return 1

    local_only()
    assert nb.get_tracking_uri() is None
    nb.set_tracking_uri(populated.uri + "/")
    try:
        assert nb.get_tracking_uri() == populated.uri
        frame = nb.search_traces(experiment_ids=[populated.experiment_id])
        assert len(frame) == 7
        spans = nb.search_spans(
            experiment_ids=[populated.experiment_id], filter_string="name = 'rag'"
        )
        assert tuple(spans.columns) == SPAN_FRAME_COLUMNS
        assert sorted(spans.name) == ["generate", "rag", "retrieve"]
        assert nb.get_trace(populated.rag_id) is not None
    finally:
        nb.set_tracking_uri(None)
    assert list(nb.analysis_frame().name) == ["local_only"]
    assert nb.get_trace(populated.rag_id) is None


def test_an_mlflow_only_destination_is_read_from(populated: Populated) -> None:
    from mlflow_trace_nb._internal.destination import MlflowExperiment

    nb.set_destination(MlflowExperiment(populated.experiment_id, tracking_uri=populated.uri))
    frame = nb.search_traces()  # default experiment: the destination's
    assert populated.rag_id in set(frame.trace_id)
    nb.set_destination("memory")
    assert len(nb.search_traces()) == 0


def test_bad_tracking_uri() -> None:
    with pytest.raises(ValueError, match="MLflow tracking server"):
        nb.set_tracking_uri("sqlite:///x.db")
    with pytest.raises(ValueError, match="MLflow tracking server"):
        nb.search_traces(tracking_uri="file:///tmp/mlruns")


def test_filter_translation() -> None:
    assert to_mlflow_filter(None) is None
    assert to_mlflow_filter("  ") is None
    assert (
        to_mlflow_filter("trace.status = 'OK' AND tag.`a.b` = \"it's\"")
        == "attributes.status = 'OK' AND tags.`a.b` = \"it's\""
    )
    assert (
        to_mlflow_filter("execution_time_ms >= 5 AND span.attributes.model IN ('a', 'b')")
        == "attributes.execution_time_ms >= 5 AND span.attributes.`model` IN ('a', 'b')"
    )
    assert to_mlflow_filter("metadata.k IS NULL") == "metadata.`k` IS NULL"
    assert (
        to_mlflow_filter("feedback.score > 0.5 AND expectation.`a b` = 'x'")
        == "feedback.score > 0.5 AND expectation.`a b` = 'x'"
    )
    assert to_mlflow_filter("trace.prompt = 'qa/1'") == "prompt = 'qa/1'"
