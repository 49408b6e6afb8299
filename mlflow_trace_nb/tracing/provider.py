"""Span types and status codes, spelled as in ``mlflow.tracing.provider``.

The classes are plain string namespaces (``SpanType.LLM == "LLM"``) so values stored in
SQLite, compared in filters and exported to other engines are the same strings users type.
"""

from __future__ import annotations

__all__ = ["SpanStatus", "SpanStatusCode", "SpanType"]


class SpanType:
    """Kinds of operation a span can stand for."""

    UNKNOWN = "UNKNOWN"
    LLM = "LLM"
    CHAT_MODEL = "CHAT_MODEL"
    CHAIN = "CHAIN"
    AGENT = "AGENT"
    TOOL = "TOOL"
    RETRIEVER = "RETRIEVER"
    EMBEDDING = "EMBEDDING"
    RERANKER = "RERANKER"
    PARSER = "PARSER"


class SpanStatus:
    """How a span ended. A trace's status is its root span's."""

    OK = "OK"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"
    TIMEOUT = "TIMEOUT"


class SpanStatusCode:
    """Standard (OpenTelemetry) status codes; ``UNSET`` means the span has not ended."""

    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"


#: Every value ``Span.status_code`` can take.
STATUS_CODES = frozenset(
    {
        SpanStatusCode.UNSET,
        SpanStatus.OK,
        SpanStatus.ERROR,
        SpanStatus.CANCELLED,
        SpanStatus.TIMEOUT,
    }
)
