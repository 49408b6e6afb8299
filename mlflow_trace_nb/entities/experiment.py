"""``Experiment``: a named group of traces."""

from __future__ import annotations

__all__ = ["Experiment"]


class Experiment:
    """A named group of traces."""

    __slots__ = ("creation_time", "experiment_id", "lifecycle_stage", "name", "tags")

    def __init__(self, experiment_id: str, name: str, creation_time: int | None = None) -> None:
        self.experiment_id = experiment_id
        self.name = name
        self.creation_time = creation_time
        self.lifecycle_stage = "active"
        self.tags: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Experiment(experiment_id={self.experiment_id!r}, name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Experiment)
            and other.experiment_id == self.experiment_id
            and other.name == self.name
        )

    def __hash__(self) -> int:
        return hash((self.experiment_id, self.name))
