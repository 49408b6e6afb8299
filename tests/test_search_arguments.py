"""``search_traces`` takes MLflow 3.17's arguments: ``locations``, ``run_id``, ``model_id``,
``include_spans``, ``extract_fields``, ``return_type=None``, ``flush``, ``sql_warehouse_id``."""

from __future__ import annotations

import inspect
from pathlib import Path

import pandas as pd
import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.errors import MlflowException


@pytest.fixture(autouse=True)
def store(tmp_path: Path) -> None:
    mlflow.set_destination(f"sqlite:///{tmp_path / 't.db'}")


@mlflow.trace(name="retrieve")
def _retrieve(query: str) -> dict[str, object]:
    return {"docs": [query.upper()], "count": 1}


@mlflow.trace(name="answer")
def _answer(question: str, run: str | None = None, model: str | None = None) -> str:
    metadata = {}
    if run:
        metadata["mlflow.sourceRun"] = run
    if model:
        metadata["mlflow.modelId"] = model
    mlflow.update_current_trace(metadata=metadata)
    return f"{_retrieve(question)['docs'][0]}!"


def test_the_signature_is_mlflows() -> None:
    import mlflow as real

    theirs = list(inspect.signature(real.search_traces).parameters)
    ours = list(inspect.signature(mlflow.search_traces).parameters)
    assert ours[: len(theirs)] == theirs
    assert ours[len(theirs) :] == ["tracking_uri"]  # keyword-only, ours


def test_locations_run_id_and_model_id() -> None:
    experiment = mlflow.set_experiment("other").experiment_id
    _answer("a", run="run-1")
    mlflow.set_experiment(experiment_id="0")
    _answer("b", run="run-2", model="m-'quoted'")
    both = mlflow.search_traces(locations=["0", experiment], return_type="list")
    assert len(both) == 2
    only = mlflow.search_traces(locations=[experiment], return_type="list")
    assert [t.data.spans[0].inputs["question"] for t in only] == ["a"]
    assert len(mlflow.search_traces(["0"], locations=[experiment], return_type="list")) == 2
    found = mlflow.search_traces(locations=["0", experiment], run_id="run-2", return_type="list")
    assert [t.data.spans[0].inputs["question"] for t in found] == ["b"]
    found = mlflow.search_traces(
        locations=["0", experiment],
        filter_string="status = 'OK' OR status = 'ERROR'",
        run_id="run-1",
        return_type="list",
    )
    assert [t.data.spans[0].inputs["question"] for t in found] == ["a"]
    found = mlflow.search_traces(model_id="m-'quoted'", return_type="list")
    assert len(found) == 1
    with pytest.raises(MlflowException, match="Cannot specify both `model_id`"):
        mlflow.search_traces(model_id="m", filter_string="status = 'OK'")
    with pytest.raises(MlflowException, match="run_id when it is already part"):
        mlflow.search_traces(run_id="r", filter_string="metadata.`mlflow.sourceRun` = 'r'")
    with pytest.raises(MlflowException, match="locations must be a list"):
        mlflow.search_traces(locations="0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="run_id"):
        mlflow.search_traces(run_id=5)  # type: ignore[arg-type]


def test_include_spans_false() -> None:
    _answer("q")
    (trace,) = mlflow.search_traces(include_spans=False, return_type="list")
    assert trace.data.spans == []
    assert trace.info.name == "answer"
    assert trace.data.request == '{"question": "q", "run": null, "model": null}'
    frame = mlflow.search_traces(include_spans=False)
    assert isinstance(frame, pd.DataFrame)
    assert frame.loc[0, "spans"] == []
    # as MLflow's: request/response come from the root span (none here); the previews stay
    assert frame.loc[0, "response"] is None
    assert frame.loc[0, "trace_metadata"]["mlflow.traceOutputs"] == '"Q!"'
    full = mlflow.search_traces()
    assert isinstance(full, pd.DataFrame)
    assert list(frame.columns) == list(full.columns)
    assert len(full.loc[0, "spans"]) == 2


def test_extract_fields() -> None:
    _answer("x")
    with pytest.warns(FutureWarning, match="extract_fields"):
        frame = mlflow.search_traces(
            extract_fields=[
                "retrieve.outputs.count",
                "retrieve.outputs",
                "answer.inputs.question",
                "answer.inputs.missing",
                "`no such span`.inputs",
            ]
        )
    assert isinstance(frame, pd.DataFrame)
    row = frame.iloc[0]
    assert row["retrieve.outputs.count"] == 1
    assert row["retrieve.outputs"] == {"docs": ["X"], "count": 1}
    assert row["answer.inputs.question"] == "x"
    assert row["answer.inputs.missing"] is None
    assert row["no such span.inputs"] is None
    for bad, message in [
        ("retrieve", "Expected dot after span name"),
        ("retrieve.attributes", "Invalid field type"),
        ("`retrieve.outputs", "Expected closing backtick"),
        ("retrieve.outputs.`a`b", "Unexpected characters after closing backtick"),
    ]:
        with pytest.warns(FutureWarning), pytest.raises(MlflowException, match=message):
            mlflow.search_traces(extract_fields=[bad])
    with pytest.warns(FutureWarning), pytest.raises(MlflowException, match="only supported"):
        mlflow.search_traces(extract_fields=["a.inputs"], return_type="list")


def test_return_type_none_flush_and_warehouse() -> None:
    _answer("y")
    assert isinstance(mlflow.search_traces(return_type=None, flush=True), pd.DataFrame)
    with pytest.warns(FutureWarning, match="sql_warehouse_id"):
        assert len(mlflow.search_traces(sql_warehouse_id="w", return_type="list")) == 1
    with pytest.raises(MlflowException, match="Invalid return type: dict"):  # a ValueError
        mlflow.search_traces(return_type="dict")  # type: ignore[arg-type]


def test_client_search_traces_takes_mlflows_arguments() -> None:
    experiment = mlflow.set_experiment("client").experiment_id
    _answer("c", run="run-c")
    client = mlflow.MlflowClient()
    found = client.search_traces(locations=[experiment], run_id="run-c", include_spans=False)
    assert len(found) == 1 and found[0].data.spans == []
    with pytest.raises(MlflowException, match="page_token"):
        client.search_traces(locations=[experiment], page_token="abc")


def test_odd_values_in_arguments() -> None:
    """A lone surrogate in a compared value matches what was stored (written as U+FFFD),
    never a raw encoding error; a non-bool include_spans is a TypeError."""
    _answer("s", model="m-\udcff")
    found = mlflow.search_traces(model_id="m-\udcff", return_type="list")
    assert len(found) == 1
    assert found[0].info.trace_metadata["mlflow.modelId"] == "m-\ufffd"
    assert mlflow.search_traces(filter_string="tags.x = '\udcff'", return_type="list") == []
    with pytest.raises(TypeError, match="include_spans"):
        mlflow.search_traces(include_spans="no")  # type: ignore[arg-type]
