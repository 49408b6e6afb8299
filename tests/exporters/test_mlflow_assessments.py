"""Assessments logged here reach a real MLflow tracking server (``MlflowExperiment``), with
the same ids; read back with MLflow's own client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow_trace_nb as tracing
from mlflow_trace_nb.entities import AssessmentSource, Expectation
from mlflow_trace_nb.tracing.destination import LocalStore, MlflowExperiment
from tests.conftest_servers import MlflowServer
from tests.exporters._remote import new_experiment


@tracing.trace
def answer(question: str) -> str:
    return "Paris"


def _server_assessment(uri: str, trace_id: str, assessment_id: str) -> Any:
    from mlflow.tracing.client import TracingClient

    return TracingClient(uri).get_assessment(trace_id, assessment_id)


def _server_search(uri: str, experiment: str) -> Any:
    """The server's traces whose valid ``correct`` feedback is 1.0: numerically where the
    server compares feedback values as numbers (MLflow 3.17), else as the quoted text older
    servers require (3.13: "Expected a quoted string value for feedback")."""
    import mlflow
    from mlflow.exceptions import RestException

    client = mlflow.MlflowClient(uri)
    try:
        return client.search_traces(locations=[experiment], filter_string="feedback.correct > 0.5")
    except RestException as error:
        if "quoted string" not in str(error):
            raise
    return client.search_traces(locations=[experiment], filter_string="feedback.correct = '1.0'")


def test_assessment_changes_reach_the_server(mlflow_server: MlflowServer, tmp_path: Path) -> None:
    import mlflow

    experiment = new_experiment(mlflow_server.uri)
    remote = MlflowExperiment(experiment_id=experiment, tracking_uri=mlflow_server.uri)
    tracing.set_destination([LocalStore(str(tmp_path / "t.db")), remote])
    answer("capital of France?")
    trace_id = tracing.get_last_active_trace_id()
    assert trace_id is not None
    judge = AssessmentSource(source_type="LLM_JUDGE", source_id="gpt-test")
    fb = tracing.log_feedback(
        trace_id=trace_id, name="correct", value=0.4, source=judge, rationale="meh"
    )
    ex = tracing.log_expectation(trace_id=trace_id, name="gt", value={"city": "Paris"})

    theirs = _server_assessment(mlflow_server.uri, trace_id, fb.assessment_id)
    assert isinstance(theirs, mlflow.entities.Feedback)
    assert (theirs.name, theirs.value, theirs.rationale) == ("correct", 0.4, "meh")
    assert theirs.source.to_dictionary() == judge.to_dictionary()
    assert _server_assessment(mlflow_server.uri, trace_id, ex.assessment_id).value == {
        "city": "Paris"
    }

    new = tracing.override_feedback(trace_id=trace_id, assessment_id=fb.assessment_id, value=1.0)
    assert _server_assessment(mlflow_server.uri, trace_id, fb.assessment_id).valid is False
    assert _server_assessment(mlflow_server.uri, trace_id, new.assessment_id).overrides == (
        fb.assessment_id
    )
    assert [t.info.trace_id for t in _server_search(mlflow_server.uri, experiment)] == [trace_id]

    tracing.update_assessment(trace_id, ex.assessment_id, Expectation(name="gt", value="Paris"))
    assert _server_assessment(mlflow_server.uri, trace_id, ex.assessment_id).value == "Paris"

    tracing.delete_assessment(trace_id, new.assessment_id)
    assert _server_assessment(mlflow_server.uri, trace_id, fb.assessment_id).valid is True
    remaining = mlflow.MlflowClient(mlflow_server.uri).get_trace(trace_id).info.assessments
    assert sorted(a.assessment_id for a in remaining) == sorted(
        [fb.assessment_id, ex.assessment_id]
    )


def test_only_a_server_as_destination(mlflow_server: MlflowServer) -> None:
    experiment = new_experiment(mlflow_server.uri)
    tracing.set_destination(
        [MlflowExperiment(experiment_id=experiment, tracking_uri=mlflow_server.uri)]
    )
    answer("q")
    trace_id = tracing.get_last_active_trace_id()
    assert trace_id is not None
    tracing.flush()
    fb = tracing.log_feedback(trace_id=trace_id, name="ok", value=True)
    assert _server_assessment(mlflow_server.uri, trace_id, fb.assessment_id).value is True


def test_remote_reads_carry_the_servers_assessments(mlflow_server: MlflowServer) -> None:
    experiment = new_experiment(mlflow_server.uri)
    tracing.set_destination(
        [MlflowExperiment(experiment_id=experiment, tracking_uri=mlflow_server.uri)]
    )
    answer("q")
    trace_id = tracing.get_last_active_trace_id()
    assert trace_id is not None
    fb = tracing.log_feedback(trace_id=trace_id, name="ok", value="yes")
    df = tracing.search_traces(experiment_ids=[experiment])
    assert df.loc[0, "assessments"][0]["assessment_id"] == fb.assessment_id
    trace = tracing.get_trace(trace_id)
    assert trace is not None and [a.value for a in trace.info.assessments] == ["yes"]
    for filter_string, count in [
        ("feedback.ok = 'yes'", 1),
        ("feedback.ok = 'no'", 0),
        ("feedback.ok IS NOT NULL AND expectation.gt IS NULL", 1),
    ]:
        found = tracing.search_traces(experiment_ids=[experiment], filter_string=filter_string)
        assert len(found) == count, filter_string


def test_a_running_trace_is_assessed_on_the_server_after_it_is_sent(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    import mlflow

    experiment = new_experiment(mlflow_server.uri)
    remote = MlflowExperiment(experiment_id=experiment, tracking_uri=mlflow_server.uri)
    tracing.set_destination([LocalStore(str(tmp_path / "t.db")), remote])

    @tracing.trace
    def judged() -> tuple[str, str]:
        trace_id = tracing.get_active_trace_id()
        assert trace_id is not None
        fb = tracing.log_feedback(trace_id=trace_id, name="inline", value=True)
        assert fb.assessment_id is not None
        return trace_id, fb.assessment_id

    trace_id, assessment_id = judged()
    assert tracing.flush()
    assert _server_assessment(mlflow_server.uri, trace_id, assessment_id).value is True
    remaining = mlflow.MlflowClient(mlflow_server.uri).get_trace(trace_id).info.assessments
    assert [a.assessment_id for a in remaining] == [assessment_id]


def test_every_assessment_call_works_with_only_a_server(mlflow_server: MlflowServer) -> None:
    """No local store: get/update/override/delete read and change the server's copy."""
    import pytest

    from mlflow_trace_nb.entities import Feedback
    from mlflow_trace_nb.errors import MlflowException

    experiment = new_experiment(mlflow_server.uri)
    tracing.set_destination(
        [MlflowExperiment(experiment_id=experiment, tracking_uri=mlflow_server.uri)]
    )
    answer("q")
    trace_id = tracing.get_last_active_trace_id()
    assert trace_id is not None
    fb = tracing.log_feedback(trace_id=trace_id, name="score", value=0.2, metadata={"a": "1"})
    mine = tracing.get_assessment(trace_id, fb.assessment_id)
    assert isinstance(mine, Feedback) and (mine.name, mine.value) == ("score", 0.2)

    updated = tracing.update_assessment(
        trace_id, fb.assessment_id, Feedback(name="score", value=0.3, metadata={"b": "2"})
    )
    assert updated.value == 0.3 and updated.metadata == {"a": "1", "b": "2"}
    theirs = _server_assessment(mlflow_server.uri, trace_id, fb.assessment_id)
    assert (theirs.value, theirs.metadata) == (0.3, {"a": "1", "b": "2"})

    new = tracing.override_feedback(trace_id=trace_id, assessment_id=fb.assessment_id, value=0.9)
    assert _server_assessment(mlflow_server.uri, trace_id, fb.assessment_id).valid is False
    assert tracing.get_assessment(trace_id, new.assessment_id).overrides == fb.assessment_id

    tracing.delete_assessment(trace_id, new.assessment_id)
    assert _server_assessment(mlflow_server.uri, trace_id, fb.assessment_id).valid is True
    with pytest.raises(MlflowException, match="not found"):
        tracing.get_assessment(trace_id, new.assessment_id)
