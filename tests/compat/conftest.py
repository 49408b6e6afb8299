"""The real ``mlflow`` package, for tests that compare it with this one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def real_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``mlflow`` itself, tracing synchronously into a SQLite store in ``tmp_path``."""
    real = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    previous = real.get_tracking_uri()
    real.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    real.tracing.reset()  # MLflow builds its tracer provider once, for the URI of the moment
    real.set_experiment("compat")  # an experiment of this store (not one a test left active)
    yield real
    real.set_tracking_uri(previous)
    real.tracing.reset()
