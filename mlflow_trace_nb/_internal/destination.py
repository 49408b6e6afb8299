"""Where traces go: ``set_destination`` arguments and their parsing.

Accepted, alone or in a list (several destinations at once, e.g. the local store plus a
remote one):

- ``"memory"`` (this process only), ``"sqlite:///path.db"`` or a path ending in
  ``.db``/``.sqlite``/``.sqlite3``, or a ``LocalStore``;
- an OTLP/HTTP endpoint: ``OTLP(endpoint=..., headers=...)``, or the strings
  ``"otlp+http://host:4318/v1/traces"`` / ``"otlp+https://..."``, ``"otlp://host:4318"``
  (plain HTTP) and any ``"http://..."`` / ``"https://..."`` URL; a URL without a path gets
  the standard ``/v1/traces``;
- an MLflow tracking server: ``MlflowExperiment(experiment_id=..., tracking_uri=...)``, or
  ``"mlflow+http://host:5000?experiment_id=1"`` / ``"mlflow+https://..."`` /
  ``"mlflow://host:5000?experiment_id=1"`` (plain HTTP); the experiment defaults to "0";
- any object with ``export(items)`` and ``shutdown()`` methods (a custom exporter).

Remote destinations send in the background (see ``mlflow_trace_nb.exporters``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from mlflow_trace_nb._internal.processing import Exporter
from mlflow_trace_nb.exporters.mlflow_server import MlflowServerExporter
from mlflow_trace_nb.exporters.otlp import OtlpHttpExporter
from mlflow_trace_nb.store.sqlite import MEMORY, SqliteStore

__all__ = ["OTLP", "LocalStore", "MlflowExperiment", "parse_destination"]

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


class LocalStore(SqliteStore):
    """The embedded SQLite store at ``path`` (``":memory:"`` keeps traces in process)."""

    def __init__(self, path: str = "mlflow_traces.db") -> None:
        super().__init__(MEMORY if path in ("memory", MEMORY) else path)


class OTLP(OtlpHttpExporter):
    """An OTLP/HTTP (protobuf) trace endpoint: an OpenTelemetry Collector, Jaeger, Tempo,
    Phoenix, or MLflow's ``/v1/traces``. Sends in the background with retry and backoff.

    Options: ``timeout_s`` for a whole request (30 s), ``connect_timeout_s`` (5 s),
    ``max_response_bytes`` read of an answer (64 KB), ``compression`` (``"gzip"``), and for
    the send queue ``max_queue`` / ``max_queue_bytes`` (spans / bytes kept while the endpoint
    is down; more are dropped and counted), ``max_batch`` / ``max_batch_bytes`` (per
    request), ``max_backoff_s``, ``exit_timeout_s`` (the drain at exit, 5 s).

    ``semconv`` chooses the attribute key sets the spans carry, any of
    ``"openinference"`` (Phoenix/Arize: ``llm.input_messages.*``, ``retrieval.documents.*``,
    ``llm.tools.*``, token counts...), ``"gen_ai"`` (OpenTelemetry GenAI semantic
    conventions: ``gen_ai.operation.name``, ``gen_ai.usage.*``, ``gen_ai.input.messages``...)
    and ``"mlflow"`` (``mlflow.spanType``, ``mlflow.spanInputs``... and the spans' own
    ``mlflow.*`` attributes, which MLflow's ingest reads); default all three,
    e.g. ``OTLP(endpoint, semconv=("openinference", "gen_ai"))`` for Phoenix without the
    MLflow keys. Unknown names raise ``ValueError``. Other span attributes are always sent.
    """

    def __init__(
        self,
        endpoint: str,
        headers: Mapping[str, str] | None = None,
        *,
        semconv: str | Sequence[str] | None = ("openinference", "gen_ai", "mlflow"),
        **options: Any,
    ) -> None:
        super().__init__(endpoint, headers, semconv=semconv, **options)


class MlflowExperiment(MlflowServerExporter):
    """Experiment ``experiment_id`` of the MLflow tracking server at ``tracking_uri``
    (``MLFLOW_TRACKING_URI`` when omitted). Takes the same options as ``OTLP`` except
    ``semconv``: it always sends all three key sets (its ingest needs the MLflow ones and
    fills nothing from the others when they are there)."""

    def __init__(
        self, experiment_id: str = "0", tracking_uri: str | None = None, **options: Any
    ) -> None:
        if "semconv" in options:
            raise ValueError("MlflowExperiment always sends every key set; it takes no semconv")
        super().__init__(experiment_id, tracking_uri, **options)


def _with_default_path(url: str) -> str:
    parts = urlsplit(url)
    if not parts.netloc:
        raise ValueError(f"destination {url!r} names no host")
    path = parts.path if parts.path not in ("", "/") else "/v1/traces"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _parse_mlflow(text: str, rest: str) -> Exporter:
    parts = urlsplit(rest)
    if not parts.netloc:
        raise ValueError(f"destination {text!r} names no host")
    query = parse_qs(parts.query)
    experiment = (query.get("experiment_id") or ["0"])[0]
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    return MlflowExperiment(experiment_id=experiment, tracking_uri=base)


def _parse_remote(text: str, value: str, lowered: str) -> Exporter | None:
    if lowered.startswith(("otlp+http://", "otlp+https://")):
        return OTLP(_with_default_path(value[len("otlp+") :]))
    if lowered.startswith("otlp://"):
        return OTLP(_with_default_path("http://" + value[len("otlp://") :]))
    if lowered.startswith(("mlflow+http://", "mlflow+https://")):
        return _parse_mlflow(text, value[len("mlflow+") :])
    if lowered.startswith("mlflow://"):
        return _parse_mlflow(text, "http://" + value[len("mlflow://") :])
    if lowered.startswith(("http://", "https://")):
        return OTLP(_with_default_path(value))
    if lowered.startswith(("otlp", "mlflow", "databricks")):
        raise ValueError(
            f"destination {text!r}: expected 'otlp+http(s)://host:port/path', "
            "'otlp://host:port', 'mlflow+http(s)://host:port?experiment_id=N' or "
            "'mlflow://host:port?experiment_id=N' (Databricks is not supported)"
        )
    return None


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
    remote = _parse_remote(text, value, lowered)
    if remote is not None:
        return remote
    if lowered.endswith(_SQLITE_SUFFIXES):
        return LocalStore(value)
    raise ValueError(
        f"unknown destination {text!r}: expected 'memory', 'sqlite:///path.db', a path "
        f"ending in {', '.join(_SQLITE_SUFFIXES)}, an OTLP URL ('otlp+http://host:4318/"
        "v1/traces') or an MLflow server ('mlflow+http://host:5000?experiment_id=1')"
    )


#: Most destinations one ``set_destination`` call takes.
MAX_DESTINATIONS = 32
_MAX_DESTINATION_CHARS = 10_000


def parse_destination(destination: Any, _nested: bool = False) -> list[Exporter]:
    """Turn a ``set_destination`` argument into a non-empty list of exporters.

    Raises:
        ValueError: an unknown string, an empty list, or more than ``MAX_DESTINATIONS``.
        TypeError: a value of a type that is not a destination (a list inside a list too).
    """
    if isinstance(destination, str):
        if len(destination) > _MAX_DESTINATION_CHARS:
            raise ValueError(f"destination is {len(destination):,} characters long")
        return [_parse_string(destination)]
    if hasattr(destination, "export") and callable(destination.export):
        return [destination]
    if isinstance(destination, Iterable) and not _nested and not isinstance(destination, Mapping):
        items = list(itertools.islice(iter(destination), MAX_DESTINATIONS + 1))
        if len(items) > MAX_DESTINATIONS:
            raise ValueError(f"set_destination() takes at most {MAX_DESTINATIONS} destinations")
        exporters = [e for item in items for e in parse_destination(item, _nested=True)]
        if not exporters:
            raise ValueError("set_destination() needs at least one destination")
        return exporters
    raise TypeError(
        f"not a trace destination: {destination!r} (expected a string, a LocalStore, OTLP, "
        "MlflowExperiment, an exporter with export()/shutdown(), or a list of these)"
    )
