"""Every test gets its own working directory and its own SQLite file, and default settings."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.runtime import DESTINATION_ENV, RUNTIME
from mlflow_trace_nb._internal.tracer import ids
from tests.conftest_servers import _mlflow_server_session, mlflow_server

# One real MLflow tracking server per test session, shared by the exporter and remote tests.
__all__ = ["_mlflow_server_session", "mlflow_server"]


@pytest.fixture(autouse=True)
def isolated_tracing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh store file in ``tmp_path`` (also the working directory) and default config."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(DESTINATION_ENV, raising=False)
    mlflow.reset()
    db = tmp_path / "traces.db"
    mlflow.set_destination(f"sqlite:///{db}")
    RUNTIME.last_trace = None
    yield db
    mlflow.flush()
    mlflow.reset()
    ids.use_seed(None)


@pytest.fixture
def db_path(isolated_tracing: Path) -> Path:
    """The SQLite file this test's traces are written to."""
    return isolated_tracing


@pytest.fixture
def caplog_warnings(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="mlflow_trace_nb")
    return caplog
