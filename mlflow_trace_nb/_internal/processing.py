"""The pipeline's sink protocol; the queue itself is ``batch.BatchWorker``.

``WriteBehindQueue`` is kept as the old name of ``BatchWorker``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from mlflow_trace_nb._internal.batch import BatchWorker

__all__ = ["BatchWorker", "Exporter", "WriteBehindQueue"]


class Exporter(Protocol):
    """A sink: receives batches of records (``SpanRecord``, ``TraceRecord``)."""

    def export(self, items: Sequence[Any]) -> None:
        """Write or send ``items``. Failures may raise; the worker logs and carries on."""

    def shutdown(self) -> None:
        """Release resources (connections, threads)."""


WriteBehindQueue = BatchWorker
