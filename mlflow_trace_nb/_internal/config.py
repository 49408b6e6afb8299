"""Switching tracing on and off, sampling, propagation, and where traces go."""

from __future__ import annotations

import math
from typing import Any

from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb._internal.tracer.arguments import MAX_INT64, describe, optional_bool

__all__ = ["configure", "disable", "enable", "is_enabled", "reset", "set_destination"]


def configure(disable_propagation: bool | None = None, sampling_rate: float | None = None) -> None:
    """Set global options; arguments left as None keep their current value.

    Args:
        disable_propagation: stop reading/writing W3C ``traceparent`` headers
            (``get_tracing_context_headers_for_http_request`` returns ``{}`` and
            ``set_tracing_context_from_http_request_headers`` continues nothing).
        sampling_rate: fraction of traces recorded, 0.0 to 1.0; whole traces are sampled
            (children follow their root). A trace continued from a ``traceparent`` header
            follows the caller's sampled flag instead (parent-based, as OpenTelemetry).
    """
    optional_bool(disable_propagation, "disable_propagation")  # checked before any change
    if sampling_rate is not None:
        if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, (int, float)):
            raise TypeError(f"sampling_rate must be a number, got {sampling_rate!r}")
        if math.isnan(sampling_rate) or not 0.0 <= sampling_rate <= 1.0:
            raise ValueError(f"sampling_rate must be between 0.0 and 1.0, got {sampling_rate!r}")
        RUNTIME.sampling_rate = float(sampling_rate)
    if optional_bool(disable_propagation, "disable_propagation") is not None:
        RUNTIME.disable_propagation = bool(disable_propagation)


def enable(experiment_id: str | None = None) -> None:
    """Turn tracing on; with ``experiment_id``, new traces go to that experiment."""
    if experiment_id is not None:
        if isinstance(experiment_id, bool) or not isinstance(experiment_id, (str, int)):
            raise TypeError(
                f"experiment_id must be a string or an int, got {describe(experiment_id)}"
            )
        try:
            if not 0 <= int(experiment_id) <= MAX_INT64:
                raise ValueError
        except (TypeError, ValueError):
            raise ValueError(
                f"experiment_id must be an integer id, got {experiment_id!r:.60}"
            ) from None
        RUNTIME.experiment_id = str(experiment_id)
    RUNTIME.enabled = True


def disable() -> None:
    """Turn tracing off: traced code runs at near-bare cost and records nothing."""
    RUNTIME.enabled = False


def is_enabled() -> bool:
    """Whether tracing is on."""
    return RUNTIME.enabled


def reset() -> None:
    """Back to defaults: enabled, sampling 1.0, propagation on, default experiment, and the
    default destination (``MLFLOW_TRACE_NB_DESTINATION`` or ``./mlflow_traces.db``)."""
    RUNTIME.reset_config()
    RUNTIME.reset_destinations()


def set_destination(destination: Any) -> None:
    """Choose where traces go: ``"memory"``, ``"sqlite:///path.db"``, a ``.db`` path, a
    ``LocalStore``, an exporter object, or a list of these. Pending traces are flushed to the
    old destination first.

    Example::

        mlflow.tracing.set_destination("sqlite:///runs/traces.db")
    """
    from mlflow_trace_nb._internal.destination import parse_destination

    RUNTIME.set_destinations(parse_destination(destination))
