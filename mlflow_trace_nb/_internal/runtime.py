"""The process's provider under its older name: ``RUNTIME`` is ``provider.DEFAULT_PROVIDER``
(``Runtime`` is ``provider.Provider``), so existing call sites keep working."""

from __future__ import annotations

from mlflow_trace_nb._internal.provider import (
    DEFAULT_DB_FILE,
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_PROVIDER,
    DESTINATION_ENV,
    REMOTE_EXIT_TIMEOUT_ENV,
    Provider,
)

__all__ = [
    "DEFAULT_DB_FILE",
    "DEFAULT_EXPERIMENT_ID",
    "DESTINATION_ENV",
    "REMOTE_EXIT_TIMEOUT_ENV",
    "RUNTIME",
    "Runtime",
]

RUNTIME = DEFAULT_PROVIDER
Runtime = Provider
