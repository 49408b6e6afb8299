"""``TraceState`` and ``TraceLocation``, as ``mlflow.entities`` spells them."""

from __future__ import annotations

import enum
from typing import Any

__all__ = ["TraceLocation", "TraceState", "state_of"]


class TraceState(enum.StrEnum):
    """A trace's state (MLflow 3): ``OK``, ``ERROR``, ``IN_PROGRESS``; a string enum."""

    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    OK = "OK"
    ERROR = "ERROR"
    IN_PROGRESS = "IN_PROGRESS"


def state_of(status: str | None) -> TraceState:
    """The ``TraceState`` of a root-span status: CANCELLED and TIMEOUT are ERROR, a status
    not set yet is IN_PROGRESS."""
    if status is not None and status in TraceState.__members__:
        return TraceState(status)
    if status in (None, "", "UNSET"):
        return TraceState.IN_PROGRESS
    return TraceState.ERROR


class TraceLocation:
    """Where a trace lives: here, always an experiment (``type`` MLFLOW_EXPERIMENT)."""

    __slots__ = ("experiment_id",)

    type = "MLFLOW_EXPERIMENT"

    def __init__(self, experiment_id: str) -> None:
        self.experiment_id = str(experiment_id)

    @classmethod
    def from_experiment_id(cls, experiment_id: str) -> TraceLocation:
        """The location of an experiment's traces."""
        return cls(experiment_id)

    @property
    def mlflow_experiment(self) -> Any:
        """Has ``experiment_id``, as MLflow's ``MlflowExperimentLocation``."""
        return self

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": ...}}``."""
        return {"type": self.type, "mlflow_experiment": {"experiment_id": self.experiment_id}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceLocation:
        """Inverse of ``to_dict``."""
        return cls(str((data.get("mlflow_experiment") or {}).get("experiment_id", "0")))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TraceLocation) and other.experiment_id == self.experiment_id

    def __hash__(self) -> int:
        return hash(self.experiment_id)

    def __repr__(self) -> str:
        return f"TraceLocation(experiment_id={self.experiment_id!r})"
