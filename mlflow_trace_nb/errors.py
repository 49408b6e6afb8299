"""Errors: the few the package raises on purpose, and the reporting of internal failures.

Internal failures are logged once per place and swallowed: tracing never breaks user code.
Queries can fail for reasons the user must act on; those raise a subclass of
``MlflowTraceNbError``:

- ``StoreCorruptedError``: the SQLite trace file is damaged (not a database, or malformed
  pages). Its message names the file and says what to do (move it aside; a new store is
  created at the same path). ``path`` holds the file's path.
- ``StoreUnavailableError``: the SQLite trace file cannot be read right now (its directory
  is gone or unreadable, an I/O error, a lock held too long by another program). Its
  message names the file and the cause; tracing goes on meanwhile (what is made waits in
  memory and is written when the file works again). ``path`` holds the file's path.
"""

from __future__ import annotations

import logging

__all__ = [
    "MlflowException",
    "MlflowTraceNbError",
    "StoreCorruptedError",
    "StoreUnavailableError",
    "report_internal_error",
]

_logger = logging.getLogger("mlflow_trace_nb")
_seen: set[str] = set()


def report_internal_error(where: str) -> None:
    """Log the exception being handled: a warning the first time for ``where``, then debug."""
    if where in _seen:
        _logger.debug("mlflow-trace-nb: internal error in %s", where, exc_info=True)
        return
    _seen.add(where)
    _logger.warning(
        "mlflow-trace-nb: internal error in %s; tracing carries on without it "
        "(further errors here are logged at DEBUG level)",
        where,
        exc_info=True,
    )


class MlflowTraceNbError(Exception):
    """Base class of the errors mlflow-trace-nb raises on purpose."""


class MlflowException(MlflowTraceNbError, ValueError):
    """API misuse, spelled and worded as MLflow raises it (``mlflow.exceptions.MlflowException``):
    an invalid status code, an unreadable trace or span dict. A ``ValueError`` too."""

    def __init__(self, message: str, error_code: str = "INVALID_PARAMETER_VALUE") -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code


class StoreCorruptedError(MlflowTraceNbError):
    """A query found the trace store's SQLite file damaged.

    Tracing itself never raises this: the writer moves a damaged file aside (to
    ``<name>.corrupt-<timestamp>``) and starts a new one. A query can meet the damage first.
    """

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(
            f"the trace store {path} is damaged ({detail}). Move it aside (for example "
            f"`mv {path} {path}.corrupt`) together with its -wal file; a new, empty store is "
            "created at that path on the next trace (this process also does that itself "
            "when it next writes a trace)."
        )
        self.path = path
        self.detail = detail


class StoreUnavailableError(MlflowTraceNbError):
    """A query could not read the trace store's SQLite file (a fault that may pass: the
    directory removed or unreadable, an I/O error, a lock held too long). Tracing itself
    never raises this: what is traced meanwhile waits in memory (``store.health()``)."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(
            f"cannot read the trace store {path} right now ({detail}). Traces made meanwhile "
            "wait in memory and are written when the file can be used again; check that the "
            "file and its directory exist and are readable, or choose another file with "
            "mlflow_trace_nb.tracing.set_destination()."
        )
        self.path = path
        self.detail = detail
