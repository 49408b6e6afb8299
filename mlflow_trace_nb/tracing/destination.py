"""Destination classes for ``set_destination`` (MLflow's spelling)."""

from __future__ import annotations

from mlflow_trace_nb.destination import LocalStore

__all__ = ["LocalStore"]
