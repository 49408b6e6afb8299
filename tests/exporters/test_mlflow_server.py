"""Export to a real MLflow tracking server; read back with MLflow's own client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import mlflow_trace_nb as tracing
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb.tracing.destination import LocalStore, MlflowExperiment
from tests.conftest_servers import MlflowServer
from tests.exporters._remote import new_experiment, remote_traces


@pytest.fixture
def experiment(mlflow_server: MlflowServer) -> str:
    return new_experiment(mlflow_server.uri)


@pytest.fixture
def client(mlflow_server: MlflowServer) -> Any:
    import mlflow

    return mlflow.MlflowClient(mlflow_server.uri)


@pytest.fixture
def real_mlflow(mlflow_server: MlflowServer) -> Iterator[Any]:
    """MLflow's fluent API pointed at the test server (restored afterwards)."""
    import mlflow

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(mlflow_server.uri)
    try:
        yield mlflow
    finally:
        mlflow.set_tracking_uri(previous)


@tracing.trace(span_type="AGENT")
def agent(question: str) -> dict[str, Any]:
    tracing.update_current_trace(tags={"team": "search", "ticket": "T-1"})
    docs = retrieve(question)
    with tracing.start_span("llm", span_type="CHAT_MODEL") as span:
        span.set_inputs({"messages": [{"role": "user", "content": question}], "docs": docs})
        span.set_attributes(
            {
                "mlflow.llm.model": "gpt-test",
                "mlflow.chat.tokenUsage": {
                    "input_tokens": 11,
                    "output_tokens": 3,
                    "total_tokens": 14,
                },
            }
        )
        span.add_event("first_token", {"latency_ms": 12.5})
        span.set_outputs("Paris")
    return {"answer": "Paris", "n_docs": len(docs)}


@tracing.trace(span_type="RETRIEVER")
def retrieve(query: str) -> list[str]:
    return [f"doc about {query}", "another doc"]


def test_traces_read_back_through_mlflows_client(
    mlflow_server: MlflowServer, experiment: str, client: Any, tmp_path: Any
) -> None:
    remote = MlflowExperiment(experiment_id=experiment, tracking_uri=mlflow_server.uri)
    tracing.set_destination([LocalStore(str(tmp_path / "t.db")), remote])
    agent("capital of France?")
    assert tracing.flush()
    local = tracing.get_last_active_trace()
    assert local is not None

    trace = client.get_trace(local.info.request_id)
    assert trace.info.trace_id == local.info.request_id
    assert trace.info.experiment_id == experiment
    assert trace.info.state.value == "OK"
    assert trace.info.tags["team"] == "search" and trace.info.tags["ticket"] == "T-1"
    spans = {s.name: s for s in trace.data.spans}
    assert set(spans) == {"agent", "retrieve", "llm"}
    assert spans["agent"].parent_id is None
    assert spans["retrieve"].parent_id == spans["agent"].span_id
    assert spans["llm"].parent_id == spans["agent"].span_id
    local_spans = {s.name: s for s in local.data.spans}
    for name, span in spans.items():
        assert span.span_id == local_spans[name].span_id
        assert span.start_time_ns == local_spans[name].start_time_ns
        assert span.end_time_ns == local_spans[name].end_time_ns
    assert [spans[n].span_type for n in ("agent", "retrieve", "llm")] == [
        "AGENT",
        "RETRIEVER",
        "CHAT_MODEL",
    ]
    assert spans["agent"].inputs == {"question": "capital of France?"}
    assert spans["agent"].outputs == {"answer": "Paris", "n_docs": 2}
    assert spans["retrieve"].outputs == ["doc about capital of France?", "another doc"]
    assert spans["llm"].inputs["messages"][0]["content"] == "capital of France?"
    assert spans["llm"].outputs == "Paris"
    assert spans["llm"].get_attribute("mlflow.llm.model") == "gpt-test"
    [event] = spans["llm"].events
    assert event.name == "first_token" and event.attributes["latency_ms"] == 12.5
    assert spans["llm"].status.status_code.value == "OK"


def test_errors_and_statuses(mlflow_server: MlflowServer, experiment: str, client: Any) -> None:
    tracing.set_destination(["memory", MlflowExperiment(experiment, mlflow_server.uri)])

    @tracing.trace(span_type="TOOL")
    def broken(x: int) -> int:
        raise KeyError(f"no key {x}")

    with pytest.raises(KeyError):
        broken(7)
    assert tracing.flush()
    local = tracing.get_last_active_trace()
    assert local is not None
    trace = client.get_trace(local.info.request_id)
    assert trace.info.state.value == "ERROR"
    [span] = trace.data.spans
    assert span.status.status_code.value == "ERROR"
    assert "no key 7" in span.status.description
    [event] = span.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "KeyError"
    assert span.inputs == {"x": 7} and span.span_type == "TOOL"


def test_search_traces_and_uri_shorthand(
    mlflow_server: MlflowServer, experiment: str, real_mlflow: Any
) -> None:
    tracing.set_destination(
        ["memory", f"mlflow+http://127.0.0.1:{mlflow_server.port}?experiment_id={experiment}"]
    )
    for i in range(3):
        agent(f"question {i}")
    assert tracing.flush()
    found = real_mlflow.search_traces(locations=[experiment], return_type="list")
    assert len(found) == 3
    previews = sorted(t.info.request_preview for t in found)
    assert all(f"question {i}" in previews[i] for i in range(3))
    frame = real_mlflow.search_traces(locations=[experiment])
    assert len(frame) == 3


def test_a_span_ending_after_its_root_joins_the_remote_trace(
    mlflow_server: MlflowServer, experiment: str, client: Any
) -> None:
    tracing.set_destination(["memory", MlflowExperiment(experiment, mlflow_server.uri)])
    root = tracing.start_span("root", span_type="CHAIN")
    straggler = tracing.start_span("straggler", span_type="TOOL")
    root.end()
    assert tracing.flush()
    straggler.set_outputs({"late": True})
    straggler.end()
    assert tracing.flush()
    trace = client.get_trace(root.trace_id)
    spans = {s.name: s for s in trace.data.spans}
    assert set(spans) == {"root", "straggler"}
    assert spans["straggler"].parent_id == spans["root"].span_id
    assert spans["straggler"].outputs == {"late": True}


def test_server_experiment_overrides_the_local_one(
    mlflow_server: MlflowServer, experiment: str
) -> None:
    tracing.set_experiment("local-only")
    tracing.set_destination(["memory", MlflowExperiment(experiment, mlflow_server.uri)])
    retrieve("x")
    assert tracing.flush()
    assert [t.info.experiment_id for t in remote_traces(mlflow_server.uri, experiment)] == [
        experiment
    ]
    assert isinstance(RUNTIME.exporters[1], MlflowExperiment)


def test_a_trace_state_set_apart_from_the_root_reaches_the_server(
    mlflow_server: MlflowServer, experiment: str, client: Any, tmp_path: Any
) -> None:
    """``update_current_trace(state="ERROR")`` in a call that returns: locally the root stays
    OK and the trace is ERROR; the server (which reads a trace's state from its root span
    over OTLP) shows the trace ERROR too."""
    remote = MlflowExperiment(experiment_id=experiment, tracking_uri=mlflow_server.uri)
    tracing.set_destination([LocalStore(str(tmp_path / "t.db")), remote])

    @tracing.trace
    def judged() -> str:
        tracing.update_current_trace(state="ERROR")
        return "looks fine, judged bad"

    judged()
    assert tracing.flush()
    local = tracing.get_last_active_trace()
    assert local is not None
    assert local.info.state == "ERROR" and local.data.spans[0].status.status_code == "OK"
    assert client.get_trace(local.info.request_id).info.state.value == "ERROR"
