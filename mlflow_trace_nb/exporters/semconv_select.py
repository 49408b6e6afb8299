"""Which attribute key sets ("semantic conventions") an export carries, and their union.

Three sets, chosen per destination (``OTLP(endpoint, semconv=...)``, all three by default):

- ``"mlflow"``: MLflow's own keys (``mlflow.spanType``, ``mlflow.spanInputs``,
  ``mlflow.spanOutputs``, ``mlflow.traceRequestId``, ``mlflow.experimentId`` and the span's
  own ``mlflow.*`` attributes such as ``mlflow.chat.tokenUsage``), which MLflow's OTLP ingest
  reads; without it no ``mlflow.*`` attribute is sent (other UIs show them as quoted JSON);
- ``"openinference"``: OpenInference keys (Phoenix, Arize), see ``semconv_openinference``;
- ``"gen_ai"``: OpenTelemetry GenAI semantic-convention keys, see ``semconv_genai``.

A span's other attributes (not ``mlflow.*``) are always sent. ``MlflowExperiment`` always
sends all three (MLflow's ingest fills its own keys from the others only when they are
missing, so the MLflow keys decide what it stores).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from mlflow_trace_nb.exporters.semconv_genai import genai_attributes
from mlflow_trace_nb.exporters.semconv_openinference import openinference_attributes
from mlflow_trace_nb.exporters.semconv_shapes import LLM_TYPES, plain

__all__ = [
    "ALL",
    "CONVENTIONS",
    "GEN_AI",
    "MLFLOW",
    "OPENINFERENCE",
    "parse_semconv",
    "semconv_attributes",
]

OPENINFERENCE = "openinference"
GEN_AI = "gen_ai"
MLFLOW = "mlflow"
#: Every key set, in the documented order.
CONVENTIONS = (OPENINFERENCE, GEN_AI, MLFLOW)
ALL = frozenset(CONVENTIONS)
_LOG = logging.getLogger(__name__)
#: Span types whose payloads the mappings read (others only get the payload text).
_STRUCTURED = LLM_TYPES | {"RETRIEVER", "RERANKER", "EMBEDDING"}
_ALIASES = {"genai": GEN_AI, "gen-ai": GEN_AI, "oi": OPENINFERENCE, "all": "all"}


def parse_semconv(value: str | Iterable[str] | None) -> frozenset[str]:
    """The key sets named by ``value`` (a name, a list of names, ``"all"`` or None for all).

    Raises:
        ValueError: an unknown name, or an empty selection.
        TypeError: a value that is neither a string nor an iterable of strings.
    """
    if value is None:
        return ALL
    names = [value] if isinstance(value, str) else list(value)
    chosen: set[str] = set()
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"semconv names are strings, got {name!r}")
        key = name.strip().lower()
        key = _ALIASES.get(key, key)
        if key == "all":
            chosen.update(CONVENTIONS)
        elif key in ALL:
            chosen.add(key)
        else:
            raise ValueError(
                f"unknown semconv {name!r}: expected some of {', '.join(map(repr, CONVENTIONS))}"
            )
    if not chosen:
        raise ValueError(f"semconv selects nothing: name some of {', '.join(CONVENTIONS)}")
    return frozenset(chosen)


def _plain(value: Any, text: str | None) -> Any:
    """``value`` as plain JSON values: parsed back from its JSON text when there is one
    (C-speed, and exactly what the payload keys carry), else ``to_jsonable``."""
    if text is not None and not isinstance(value, str):
        return json.loads(text)
    return plain(value)


def semconv_attributes(
    span_type: str,
    attributes: dict[str, Any],
    inputs: Any,
    outputs: Any,
    conventions: frozenset[str] = ALL,
    *,
    name: str | None = None,
    texts: tuple[str | None, str | None] = (None, None),
) -> dict[str, Any]:
    """The OpenInference and/or GenAI attributes of one span (the MLflow keys are the
    mapping's own); inputs and outputs may be any values (vendor response objects too),
    ``texts`` their JSON texts when already made. Never raises: a shape that breaks a
    mapping yields no keys from it."""
    out: dict[str, Any] = {}
    try:
        if span_type in _STRUCTURED:  # the mappings read plain dicts and lists
            inputs = _plain(inputs, texts[0])
            outputs = _plain(outputs, texts[1])
        if OPENINFERENCE in conventions:
            out.update(
                openinference_attributes(
                    span_type, attributes, inputs, outputs, name=name, texts=texts
                )
            )
        if GEN_AI in conventions:
            out.update(genai_attributes(span_type, attributes, inputs, outputs, name=name))
    except Exception:  # span content is untrusted: export goes on without these keys
        _LOG.debug("semconv mapping failed for a %s span", span_type, exc_info=True)
    return out
