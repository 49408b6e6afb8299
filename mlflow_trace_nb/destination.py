"""Where traces go: ``set_destination`` arguments and their parsing.

Accepted: ``"memory"`` (this process only), ``"sqlite:///path.db"`` or a path ending in
``.db``/``.sqlite``/``.sqlite3``, a ``LocalStore``, any object with ``export(items)`` and
``shutdown()`` methods (a custom exporter), or a list of these for several at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mlflow_trace_nb.processing import Exporter
from mlflow_trace_nb.store.sqlite import MEMORY, SqliteStore

__all__ = ["LocalStore", "parse_destination"]

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


class LocalStore(SqliteStore):
    """The embedded SQLite store at ``path`` (``":memory:"`` keeps traces in process)."""

    def __init__(self, path: str = "mlflow_traces.db") -> None:
        super().__init__(MEMORY if path in ("memory", MEMORY) else path)


def _parse_string(text: str) -> Exporter:
    value = text.strip()
    lowered = value.lower()
    if lowered in ("memory", MEMORY, "sqlite://", "sqlite:///:memory:"):
        return LocalStore(MEMORY)
    if lowered.startswith("sqlite:///"):
        path = value[len("sqlite:///") :]
        if not path:
            raise ValueError(f"destination {text!r} names no file")
        return LocalStore(path)
    if lowered.startswith(("http://", "https://", "otlp", "mlflow", "databricks")):
        raise ValueError(
            f"destination {text!r}: remote destinations (OTLP, MLflow tracking servers) are "
            "not available in this version; use 'memory', 'sqlite:///path.db' or a .db path"
        )
    if lowered.endswith(_SQLITE_SUFFIXES):
        return LocalStore(value)
    raise ValueError(
        f"unknown destination {text!r}: expected 'memory', 'sqlite:///path.db', or a path "
        f"ending in {', '.join(_SQLITE_SUFFIXES)}"
    )


def parse_destination(destination: Any) -> list[Exporter]:
    """Turn a ``set_destination`` argument into a non-empty list of exporters.

    Raises:
        ValueError: an unknown string, or an empty list.
        TypeError: a value of a type that is not a destination.
    """
    if isinstance(destination, str):
        return [_parse_string(destination)]
    if hasattr(destination, "export") and callable(destination.export):
        return [destination]
    if isinstance(destination, Iterable):
        exporters = [e for item in destination for e in parse_destination(item)]
        if not exporters:
            raise ValueError("set_destination() needs at least one destination")
        return exporters
    raise TypeError(
        f"not a trace destination: {destination!r} (expected a string, a LocalStore, an "
        "exporter with export()/shutdown(), or a list of these)"
    )
