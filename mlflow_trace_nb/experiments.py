"""Experiments: named groups of traces in the local store."""

from __future__ import annotations

from mlflow_trace_nb.entities import Experiment
from mlflow_trace_nb.runtime import RUNTIME

__all__ = ["get_experiment", "get_experiment_by_name", "set_experiment"]


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment active (created by name if it does not exist; race-safe across
    processes). New traces go to it. Returns the ``Experiment``."""
    if (experiment_name is None) == (experiment_id is None):
        raise ValueError("set_experiment() takes exactly one of experiment_name, experiment_id")
    store = RUNTIME.store
    if experiment_name is not None:
        if not isinstance(experiment_name, str) or not experiment_name.strip():
            raise ValueError(f"experiment name must be a non-empty string, got {experiment_name!r}")
        experiment = store.get_or_create_experiment(experiment_name)
    else:
        found = store.get_experiment(str(experiment_id))
        if found is None:
            raise ValueError(f"no experiment with id {experiment_id!r}")
        experiment = found
    RUNTIME.experiment_id = experiment.experiment_id
    return experiment


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment called ``name``, or None."""
    return RUNTIME.store.get_experiment_by_name(name)


def get_experiment(experiment_id: str) -> Experiment | None:
    """The experiment with this id, or None."""
    return RUNTIME.store.get_experiment(experiment_id)
