"""Destination classes for ``set_destination`` (MLflow's spelling).

``LocalStore`` (the embedded SQLite store), ``OTLP`` (any OTLP/HTTP trace endpoint) and
``MlflowExperiment`` (an experiment on an MLflow tracking server); pass a list for several.
"""

from __future__ import annotations

from mlflow_trace_nb._internal.destination import OTLP, LocalStore, MlflowExperiment

__all__ = ["OTLP", "LocalStore", "MlflowExperiment"]
