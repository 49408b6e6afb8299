"""``Session``: the traces of one conversation (MLflow's ``mlflow.entities.Session``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mlflow_trace_nb import keys

if TYPE_CHECKING:
    from mlflow_trace_nb.entities.trace import Trace

__all__ = ["Session"]


class Session:
    """The traces of one session, oldest first (``for trace in session``, ``len``, ``[i]``)."""

    def __init__(self, traces: list[Trace]) -> None:
        self._traces = traces

    @property
    def id(self) -> str | None:
        """The session id (None for an empty session)."""
        if not self._traces:
            return None
        return self._traces[0].info._own_metadata.get(keys.TRACE_SESSION)

    @property
    def traces(self) -> list[Trace]:
        """The traces of the session, oldest first."""
        return self._traces

    def __iter__(self) -> Iterator[Trace]:
        return iter(self._traces)

    def __len__(self) -> int:
        return len(self._traces)

    def __getitem__(self, index: int) -> Trace:
        return self._traces[index]

    def __repr__(self) -> str:
        return f"Session(id={self.id!r})"
