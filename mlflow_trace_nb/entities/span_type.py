"""``SpanType``: kinds of operation a span can stand for (``mlflow.entities.SpanType``).

A plain string namespace (``SpanType.LLM == "LLM"``), as in MLflow, so values stored in
SQLite, compared in filters and exported to other engines are the strings users type.
"""

from __future__ import annotations

__all__ = ["SpanType"]


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
    MEMORY = "MEMORY"
    WORKFLOW = "WORKFLOW"
    TASK = "TASK"
    GUARDRAIL = "GUARDRAIL"
    EVALUATOR = "EVALUATOR"
