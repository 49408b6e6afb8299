"""A destination that keeps what the writer hands it, for tests and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["Collector"]


class Collector:
    """Keeps the records (span and trace records) the pipeline hands to destinations, in
    ``items``, instead of writing them anywhere."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def export(self, items: Sequence[Any]) -> None:
        """Keep ``items``."""
        self.items.extend(items)

    def shutdown(self) -> None:
        """Nothing to release."""
