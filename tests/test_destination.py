"""Parsing ``set_destination`` arguments: local stores, OTLP endpoints, MLflow servers."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.destination import parse_destination
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb.store.sqlite import SqliteStore
from mlflow_trace_nb.tracing.destination import OTLP, LocalStore, MlflowExperiment


@pytest.mark.parametrize(
    ("text", "endpoint"),
    [
        ("otlp+http://127.0.0.1:4318/v1/traces", "http://127.0.0.1:4318/v1/traces"),
        ("otlp+https://collector.example:4318/custom", "https://collector.example:4318/custom"),
        ("otlp://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"),
        ("http://127.0.0.1:4318/v1/traces", "http://127.0.0.1:4318/v1/traces"),
        ("https://tempo.example", "https://tempo.example/v1/traces"),
        ("  HTTP://127.0.0.1:6006/v1/traces ", "HTTP://127.0.0.1:6006/v1/traces"),
    ],
)
def test_otlp_strings(text: str, endpoint: str) -> None:
    [exporter] = parse_destination(text)
    assert isinstance(exporter, OTLP)
    assert exporter.endpoint.lower() == endpoint.lower()


@pytest.mark.parametrize(
    ("text", "uri", "experiment"),
    [
        ("mlflow+http://127.0.0.1:5000?experiment_id=1", "http://127.0.0.1:5000", "1"),
        ("mlflow+https://mlflow.example/?experiment_id=42", "https://mlflow.example", "42"),
        ("mlflow://127.0.0.1:5000?experiment_id=7", "http://127.0.0.1:5000", "7"),
        ("mlflow://127.0.0.1:5000", "http://127.0.0.1:5000", "0"),
        ("mlflow+http://host:5000/prefix?experiment_id=3", "http://host:5000/prefix", "3"),
    ],
)
def test_mlflow_strings(text: str, uri: str, experiment: str) -> None:
    [exporter] = parse_destination(text)
    assert isinstance(exporter, MlflowExperiment)
    assert (exporter.tracking_uri, exporter.experiment_id) == (uri, experiment)
    assert exporter.endpoint == uri + "/v1/traces"
    assert exporter.headers["x-mlflow-experiment-id"] == experiment


def test_objects_and_lists_pass_through(tmp_path: Any) -> None:
    local = LocalStore(str(tmp_path / "a.db"))
    otlp = OTLP(endpoint="http://127.0.0.1:4318/v1/traces", headers={"authorization": "x"})
    remote = MlflowExperiment(experiment_id="1", tracking_uri="http://127.0.0.1:5000")
    assert parse_destination([local, otlp, remote, "memory"])[:3] == [local, otlp, remote]
    assert otlp.headers["authorization"] == "x"
    assert remote.tracking_uri == "http://127.0.0.1:5000" and remote.experiment_id == "1"


def test_tracking_uri_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999/")
    assert MlflowExperiment("3").tracking_uri == "http://127.0.0.1:5999"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "file:///tmp/mlruns")
    with pytest.raises(ValueError, match="HTTP tracking server"):
        MlflowExperiment("3")


@pytest.mark.parametrize(
    "text",
    ["databricks", "otlp+grpc://127.0.0.1:4317", "mlflow+file:///tmp", "otlp+http://", "ftp://x"],
)
def test_bad_remote_strings(text: str) -> None:
    with pytest.raises(ValueError):
        parse_destination(text)


def test_local_strings_keep_working(tmp_path: Any) -> None:
    [memory] = parse_destination("memory")
    [file_store] = parse_destination(f"sqlite:///{tmp_path / 'x.db'}")
    assert isinstance(memory, SqliteStore) and memory.is_memory
    assert isinstance(file_store, LocalStore)


def test_set_destination_with_local_plus_remote_keeps_local_queries() -> None:
    remote = OTLP("http://127.0.0.1:9/v1/traces", max_backoff_s=0.05)
    mlflow.set_destination(["memory", remote])
    assert RUNTIME.exporters[1] is remote and RUNTIME.store.is_memory
    mlflow.set_destination("memory")  # switching away shuts the remote exporter down


def test_parsing_does_not_import_vendor_packages() -> None:
    code = (
        "import sys\n"
        "from mlflow_trace_nb._internal.destination import parse_destination\n"
        "parse_destination(['otlp+http://127.0.0.1:4318/v1/traces',"
        " 'mlflow://127.0.0.1:5000?experiment_id=1'])\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in"
        " ('opentelemetry', 'requests', 'google', 'mlflow')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
