"""Internal failures are logged once per place and swallowed: tracing never breaks user code."""

from __future__ import annotations

import logging

__all__ = ["report_internal_error"]

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
