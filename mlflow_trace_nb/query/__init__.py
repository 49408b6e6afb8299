"""Trace filter strings and ``order_by`` lists, compiled to parameterised SQLite.

``compile_filter("tags.env = 'prod' AND NOT status = 'ERROR'")`` returns a WHERE fragment over
``traces t`` and its parameters; ``compile_order_by(["timestamp_ms DESC"])`` an ORDER BY body.
"""

from __future__ import annotations

from mlflow_trace_nb.query.lexer import FilterError
from mlflow_trace_nb.query.sql import compile_filter, compile_order_by

__all__ = ["FilterError", "compile_filter", "compile_order_by"]
