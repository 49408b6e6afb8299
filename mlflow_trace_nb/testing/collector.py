"""A destination that keeps what the writer hands it, for tests and benchmarks."""

from __future__ import annotations

from typing import Any

__all__ = ["Collector"]


class Collector:
    """Keeps the finished traces (and late spans) the writer hands to destinations, in
    ``items``, instead of writing them anywhere."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def export(self, items: list[Any]) -> None:
        """Keep ``items``."""
        self.items.extend(items)

    def shutdown(self) -> None:
        """Nothing to release."""
