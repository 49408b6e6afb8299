"""Experiments: named groups of traces in the local store."""

from __future__ import annotations

from typing import Any

from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb._internal.tracer.arguments import describe, optional_str
from mlflow_trace_nb.entities import Experiment

__all__ = [
    "MAX_EXPERIMENT_NAME_CHARS",
    "get_experiment",
    "get_experiment_by_name",
    "set_experiment",
]

#: Longest experiment name accepted.
MAX_EXPERIMENT_NAME_CHARS = 1_000


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment active (created by name if it does not exist; race-safe across
    processes). New traces go to it. Returns the ``Experiment``."""
    if (experiment_name is None) == (experiment_id is None):
        raise ValueError("set_experiment() takes exactly one of experiment_name, experiment_id")
    store = RUNTIME.store
    if experiment_name is not None:
        _check_name(experiment_name)
        experiment = store.get_or_create_experiment(experiment_name)
    else:
        found = store.get_experiment(_check_id(experiment_id))
        if found is None:
            raise ValueError(f"no experiment with id {experiment_id!r}")
        experiment = found
    RUNTIME.experiment_id = experiment.experiment_id
    return experiment


def _check_name(name: Any) -> str:
    optional_str(name, "experiment name", max_chars=MAX_EXPERIMENT_NAME_CHARS)
    if name is None or not name.strip():
        raise ValueError(f"experiment name must be a non-empty string, got {name!r}")
    return str(name)


def _check_id(experiment_id: Any) -> str:
    if isinstance(experiment_id, bool) or not isinstance(experiment_id, (str, int)):
        raise TypeError(f"experiment_id must be a string or an int, got {describe(experiment_id)}")
    if isinstance(experiment_id, str) and len(experiment_id) > 100:
        raise ValueError(f"experiment_id is {len(experiment_id):,} characters long")
    return str(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment called ``name``, or None."""
    return RUNTIME.store.get_experiment_by_name(_check_name(name))


def get_experiment(experiment_id: str) -> Experiment | None:
    """The experiment with this id, or None."""
    return RUNTIME.store.get_experiment(_check_id(experiment_id))
