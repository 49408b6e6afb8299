"""Exporter tests share one real ``mlflow server`` per session (see ``tests.conftest_servers``)."""

from __future__ import annotations

from tests.conftest_servers import _mlflow_server_session, mlflow_server

__all__ = ["_mlflow_server_session", "mlflow_server"]
