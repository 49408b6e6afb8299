"""Helpers for exporter tests that read back from a real MLflow tracking server."""

from __future__ import annotations

import time
import uuid
from typing import Any


def new_experiment(uri: str) -> str:
    """A fresh experiment on the server (tests never share one)."""
    import mlflow

    return str(mlflow.MlflowClient(uri).create_experiment(f"test-{uuid.uuid4().hex[:12]}"))


def remote_traces(uri: str, experiment_id: str, include_spans: bool = False) -> list[Any]:
    """Every trace of the experiment, through MLflow's own client (all pages)."""
    import mlflow

    client = mlflow.MlflowClient(uri)
    traces: list[Any] = []
    token = None
    while True:
        page = client.search_traces(
            locations=[experiment_id],
            max_results=500,
            page_token=token,
            include_spans=include_spans,
        )
        traces.extend(page)
        token = page.token
        if not token:
            return traces


def wait_for_count(uri: str, experiment_id: str, count: int, timeout: float = 30) -> int:
    """Poll until the experiment holds ``count`` traces (the server commits asynchronously)."""
    deadline = time.monotonic() + timeout
    found = len(remote_traces(uri, experiment_id))
    while found < count and time.monotonic() < deadline:
        time.sleep(0.2)
        found = len(remote_traces(uri, experiment_id))
    return found
