"""Our filter grammar to MLflow's: validate with our parser, render MLflow's syntax."""

from __future__ import annotations

from mlflow_trace_nb.query.ast import And, Comparison, Expr, Key, Scalar
from mlflow_trace_nb.query.parser import parse

__all__ = ["to_mlflow_filter"]

# MLflow's search_traces keys per kind (``SearchTraceUtils``): these prefixes parse there.
_PREFIX = {
    "attribute": "attributes",
    "tag": "tags",
    "metadata": "metadata",
    "span": "span",
    "span_attribute": "span.attributes",
    "feedback": "feedback",
    "expectation": "expectation",
}
_MLFLOW_OPERATORS = {"=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE", "IN", "NOT IN"}
_MLFLOW_OPERATORS |= {"IS NULL", "IS NOT NULL", "RLIKE"}


def _conjuncts(expr: Expr, filter_string: str) -> list[Comparison]:
    if isinstance(expr, Comparison):
        return [expr]
    if isinstance(expr, And):
        return [c for operand in expr.operands for c in _conjuncts(operand, filter_string)]
    raise ValueError(
        f"filter {filter_string!r}: an MLflow tracking server only evaluates comparisons "
        "joined by AND; OR, NOT and parentheses work on the local store only (search "
        "remotely with the AND part, then filter the DataFrame)"
    )


def _identifier(key: Key) -> str:
    if key.kind == "content":  # MLflow 3's own keys
        return "span.content" if key.name == "span" else "trace.text"
    if key.kind == "prompt":
        return "prompt"
    name = key.name.replace("`", "")
    if key.kind in ("attribute", "span", "feedback", "expectation") and name.isidentifier():
        return f"{_PREFIX[key.kind]}.{name}"
    return f"{_PREFIX[key.kind]}.`{name}`"


def _literal(value: Scalar) -> str:
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    raise ValueError(f"value {text!r} has both quote kinds; MLflow's filter syntax cannot hold it")


def _render(cond: Comparison) -> str:
    if cond.op not in _MLFLOW_OPERATORS:
        raise ValueError(
            f"operator {cond.op} is not supported by an MLflow tracking server "
            f"(in {cond.key.text or cond.key.name!r})"
        )
    lhs = _identifier(cond.key)
    if cond.value is None:
        return f"{lhs} {cond.op}"
    if isinstance(cond.value, tuple):
        return f"{lhs} {cond.op} ({', '.join(_literal(v) for v in cond.value)})"
    return f"{lhs} {cond.op} {_literal(cond.value)}"


def to_mlflow_filter(filter_string: str | None) -> str | None:
    """``filter_string`` in MLflow's syntax (None when empty). ValueError for a bad filter
    (from our parser, with position) or for OR/NOT/parentheses, which the server lacks."""
    if filter_string is None or not filter_string.strip():
        return None
    expr = parse(filter_string)
    return " AND ".join(_render(c) for c in _conjuncts(expr, filter_string))
