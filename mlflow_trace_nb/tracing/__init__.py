"""The ``mlflow.tracing`` namespace: everything the reference API puts under it.

``import mlflow_trace_nb as mlflow`` then ``mlflow.tracing.trace``, ``mlflow.tracing.
set_span_output``... work as written in MLflow-style code.
"""

from __future__ import annotations

import importlib
from typing import Any

from mlflow_trace_nb._public import *  # noqa: F403  (the one list of public names)
from mlflow_trace_nb._public import NAMES, lazy_attribute
from mlflow_trace_nb.tracing import provider

__all__ = [*NAMES, "destination", "provider"]  # noqa: F405


def __getattr__(name: str) -> Any:
    if name == "destination":  # imports the store: only when asked for
        return importlib.import_module("mlflow_trace_nb.tracing.destination")
    return lazy_attribute(__name__, name)
