"""A real MLflow tracking server (``tests.conftest_servers``) for remote-search tests."""

from __future__ import annotations

from tests.conftest_servers import _mlflow_server_session, mlflow_server

__all__ = ["_mlflow_server_session", "mlflow_server"]
