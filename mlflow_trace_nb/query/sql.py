"""Compile filters and ``order_by`` lists into parameterised SQLite over ``traces t``.

Only ``?`` placeholders carry filter text; table, column and operator names come from the fixed
tables below. Semantics worth knowing:

- ``tags.k != 'v'`` (and ``NOT IN``, ``NOT LIKE``...) means the tag *exists* with another value,
  as in MLflow; ``NOT tags.k = 'v'`` also matches traces without the tag. Same for metadata.
- ``tags.k IS NULL`` means the trace has no tag ``k``; ``IS NOT NULL`` means it has one.
- ``span.*`` conditions hold when *some* span of the trace matches.
- ``span.attributes.k`` compares the JSON value as stored, so ``= 5`` and ``= '5'`` differ;
  ``IS NULL`` means no span has a non-null ``k``.
- ``NOT x`` is the exact complement of ``x`` (a NULL column counts as "x does not hold"),
  while ``name != 'a'`` like SQL skips traces whose name is NULL.
- ``span.content`` / ``trace.text`` compare a span's name, inputs, outputs and attributes as
  stored (JSON text, newline-separated); the trace matches when some span does.
- ``feedback.<name>`` / ``expectation.<name>`` hold when some *valid* (not overridden)
  assessment of that kind and name matches; ``=``/``!=`` compare its JSON value with the
  text or its JSON string form (``= 'yes'`` matches ``"yes"``, ``= 'true'`` matches ``true``),
  ``<``... compare numeric values only, LIKE/ILIKE/RLIKE match the JSON text (as MLflow);
  ``IS NULL`` means no valid assessment of that name.
- ``prompt = 'name/version'`` holds when the trace's ``mlflow.linkedPrompts`` tag (MLflow's
  JSON list of ``{"name", "version"}``) lists that version; a malformed tag links nothing.
- ``RLIKE`` is a regular-expression search (Python's ``re``, ``query.functions``).
- ``LIKE`` is case-sensitive (checked with LIKE and GLOB together); ``ILIKE`` is not
  (ASCII case folding, as SQLite's ``lower()``). ``\\%`` and ``\\_`` match a literal ``%``/``_``.
"""

from __future__ import annotations

import json

from mlflow_trace_nb import keys
from mlflow_trace_nb.query.ast import And, Comparison, Expr, Not
from mlflow_trace_nb.query.functions import REGEXP_FUNCTION
from mlflow_trace_nb.query.parser import parse

_END_TIME = "(t.timestamp_ms + t.execution_time_ms)"
_TRACE_COLUMNS = {
    "status": "t.status",
    "name": "t.name",
    "timestamp_ms": "t.timestamp_ms",
    "execution_time_ms": "t.execution_time_ms",
    "end_time_ms": _END_TIME,
    "request_id": "t.request_id",
    "experiment_id": "t.experiment_id",
}
_SPAN_COLUMNS = {"name": "s.name", "type": "s.span_type", "status": "s.status_code"}
_KV_TABLES = {"tag": "trace_tags", "metadata": "trace_metadata"}
_SQL_OPS = {
    "=": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<=",
    "IN": "IN", "NOT IN": "NOT IN", "IS NULL": "IS NULL", "IS NOT NULL": "IS NOT NULL",
}  # fmt: skip
# Sub-conditions are "t.request_id IN (SELECT ...)" rather than correlated EXISTS: SQLite
# evaluates the subquery once (through the (key, value) indexes for tags and metadata) and
# probes it per trace, so a selective filter over many traces stays fast.
_SPAN_MATCHES = "t.request_id IN (SELECT s.request_id FROM spans s WHERE {})"
_SPAN_MISSING = "t.request_id NOT IN (SELECT s.request_id FROM spans s WHERE {})"
_JSON_VALUE = "json_extract(s.attributes, ?)"
_ASSESSED = (
    "t.request_id {} (SELECT a.request_id FROM assessments a "
    "WHERE a.kind = ? AND a.name = ? AND a.valid = 1{})"
)
# A JSON value as a number, NULL unless it is one (MLflow's json_numeric_comparison).
_ASSESSMENT_NUMBER = (
    "(CASE WHEN lower(a.value) IN ('true', 'false', 'null', 'nan', 'infinity', '-infinity') "
    "THEN NULL WHEN substr(a.value, 1, 1) IN ('\"', '[', '{') THEN NULL "
    "ELSE CAST(a.value AS REAL) END)"
)
# Traces whose linked-prompts tag lists {"name": ?, "version": ?} (version as text or number).
_LINKED_PROMPT = (
    "t.request_id IN (SELECT g.request_id FROM trace_tags g, json_each("
    "CASE WHEN json_valid(g.value) AND json_type(g.value) = 'array' THEN g.value "
    "ELSE '[]' END) j WHERE g.key = ? AND j.type = 'object' "
    "AND json_extract(j.value, '$.name') = ? "
    "AND CAST(json_extract(j.value, '$.version') AS TEXT) = ?)"
)
_SPAN_CONTENT = (
    "(coalesce(s.name, '') || char(10) || coalesce(s.inputs, '') || char(10) || "
    "coalesce(s.outputs, '') || char(10) || coalesce(s.attributes, ''))"
)
_ORDER_COLUMNS = {
    "timestamp_ms": "t.timestamp_ms",
    "timestamp": "t.timestamp_ms",
    "execution_time_ms": "t.execution_time_ms",
    "status": "t.status",
    "name": "t.name",
    "request_id": "t.request_id",
    "trace_id": "t.request_id",
    "execution_time": "t.execution_time_ms",
    "end_time_ms": _END_TIME,
    "end_time": _END_TIME,
    "experiment_id": "t.experiment_id",
    "run_id": (  # a request-metadata entry here (MLflow 3: a trace attribute)
        "(SELECT m.value FROM trace_metadata m WHERE m.request_id = t.request_id "
        f"AND m.key = '{keys.SOURCE_RUN}')"
    ),
}
_ORDER_PREFIXES = ("attributes.", "attribute.", "trace.")
DEFAULT_ORDER = "t.timestamp_ms DESC"
TIE_BREAKER = "t.rowid"  # insertion order, in the last term's direction
_GROUP = 32


def compile_filter(filter_string: str | None) -> tuple[str, list[object]]:
    """Compile a filter into ``(boolean SQL over traces t, params)``; ``("1", [])`` if empty.

    Raises ValueError (saying what was wrong and at which position) for a malformed filter.
    Wrap the fragment in parentheses when combining it with other SQL.
    """
    if filter_string is None or not filter_string.strip():
        return "1", []
    params: list[object] = []
    return _compile(parse(filter_string), params), params


def compile_order_by(order_by: list[str] | None) -> str:
    """Compile ``["timestamp_ms DESC", "name"]`` into an ORDER BY body; newest first by default.

    ``t.rowid`` (insertion order) is always appended as the final tie-breaker, in the
    direction of the last term. Raises ValueError for an
    unknown key, a bad direction or a malformed entry.
    """
    if order_by is not None and not isinstance(order_by, list | tuple):
        raise ValueError(f"order_by must be a list of strings, got {order_by!r}")
    terms = [_order_term(item) for item in order_by or []] or [DEFAULT_ORDER]
    direction = terms[-1].rsplit(" ", 1)[1]
    return ", ".join([*terms, f"{TIE_BREAKER} {direction}"])


def _order_term(item: object) -> str:
    if not isinstance(item, str):
        raise ValueError(f"order_by entries must be strings, got {item!r}")
    words = item.split()
    if not 1 <= len(words) <= 2:
        raise ValueError(f"Invalid order_by entry {item!r}: expected '<key> [ASC|DESC]'")
    name = words[0].lower()
    for prefix in _ORDER_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    column = _ORDER_COLUMNS.get(name)
    if column is None:
        allowed = ", ".join(sorted(_ORDER_COLUMNS))
        raise ValueError(
            f"Invalid order_by entry {item!r}: cannot order by '{words[0]}' "
            f"(expected one of {allowed})"
        )
    direction = words[1].upper() if len(words) == 2 else "ASC"
    if direction not in ("ASC", "DESC"):
        raise ValueError(
            f"Invalid order_by entry {item!r}: direction must be ASC or DESC, got '{words[1]}'"
        )
    return f"{column} {direction}"


def _compile(expr: Expr, params: list[object]) -> str:
    if isinstance(expr, Comparison):
        return _comparison(expr, params)
    if isinstance(expr, Not):
        # Conditions are 0, 1 or NULL; "IS NOT 1" maps NULL to true, so NOT is a complement.
        return f"({_compile(expr.operand, params)}) IS NOT 1"
    parts = [_compile(operand, params) for operand in expr.operands]
    return _join(parts, "AND" if isinstance(expr, And) else "OR")


def _join(parts: list[str], joiner: str) -> str:
    # Flat runs keep SQLite's parser stack shallow; groups of _GROUP keep its expression tree
    # shallow (SQLite caps both), however many operands a filter has.
    while len(parts) > _GROUP:
        parts = [_join(parts[i : i + _GROUP], joiner) for i in range(0, len(parts), _GROUP)]
    return "(" + f" {joiner} ".join(parts) + ")"


def _comparison(cond: Comparison, params: list[object]) -> str:
    key, op = cond.key, cond.op
    if key.kind == "attribute":
        return _predicate(_TRACE_COLUMNS[key.name], [], cond, params)
    if key.kind in _KV_TABLES:
        scope = f"SELECT g.request_id FROM {_KV_TABLES[key.kind]} g WHERE g.key = ?"
        params.append(key.name)
        if op in ("IS NULL", "IS NOT NULL"):
            return f"t.request_id {'NOT IN' if op == 'IS NULL' else 'IN'} ({scope})"
        return f"t.request_id IN ({scope} AND {_predicate('g.value', [], cond, params)})"
    if key.kind == "span":
        return _SPAN_MATCHES.format(_predicate(_SPAN_COLUMNS[key.name], [], cond, params))
    if key.kind == "content":
        return _SPAN_MATCHES.format(_predicate(_SPAN_CONTENT, [], cond, params))
    if key.kind in ("feedback", "expectation"):
        return _assessment(cond, params)
    if key.kind == "prompt":  # the parser allows only "=" and "name/version"
        name, version = str(cond.value).split("/")
        params.extend([keys.LINKED_PROMPTS, name, version])
        return _LINKED_PROMPT
    # The label as JSON escapes it (the parser refuses '"'): what SQLite before 3.45
    # compares with the stored text (a backslash, a tab...); later versions decode both.
    path = f'$."{json.dumps(key.name, ensure_ascii=False)[1:-1]}"'
    if op in ("IS NULL", "IS NOT NULL"):
        params.append(path)
        template = _SPAN_MISSING if op == "IS NULL" else _SPAN_MATCHES
        return template.format(f"{_JSON_VALUE} IS NOT NULL")
    return _SPAN_MATCHES.format(_predicate(_JSON_VALUE, [path], cond, params))


def _assessment(cond: Comparison, params: list[object]) -> str:
    key, op, value = cond.key, cond.op, cond.value
    params.extend([key.kind, key.name])
    if op in ("IS NULL", "IS NOT NULL"):
        return _ASSESSED.format("NOT IN" if op == "IS NULL" else "IN", "")
    if op in ("=", "!="):
        text = str(value)
        params.extend([text, json.dumps(text)])
        return _ASSESSED.format("IN", f" AND a.value {'NOT ' if op == '!=' else ''}IN (?, ?)")
    if op in (">", ">=", "<", "<="):
        params.append(float(value))  # type: ignore[arg-type]  # checked by the parser
        return _ASSESSED.format("IN", f" AND {_ASSESSMENT_NUMBER} {op} ?")
    return _ASSESSED.format("IN", " AND " + _predicate("a.value", [], cond, params))


def _predicate(lhs: str, lhs_params: list[object], cond: Comparison, params: list[object]) -> str:
    """``lhs <op> value`` where ``lhs`` is trusted SQL taking ``lhs_params`` each time it occurs."""
    op, value = cond.op, cond.value
    if op in ("RLIKE", "NOT RLIKE"):
        params.extend([str(value), *lhs_params])
        sql = f"{REGEXP_FUNCTION}(?, {lhs})"
        return f"({sql}) = 1" if op == "RLIKE" else f"({sql}) = 0"
    if op in ("LIKE", "NOT LIKE"):
        like, glob = like_patterns(str(value))
        params.extend([*lhs_params, like, *lhs_params, glob])
        sql = f"({lhs} LIKE ? ESCAPE '\\' AND {lhs} GLOB ?)"
        return sql if op == "LIKE" else f"NOT {sql}"
    if op in ("ILIKE", "NOT ILIKE"):
        params.extend([*lhs_params, like_patterns(str(value))[0]])
        sql = f"lower({lhs}) LIKE lower(?) ESCAPE '\\'"
        return sql if op == "ILIKE" else f"NOT ({sql})"
    params.extend(lhs_params)
    sql_op = _SQL_OPS[op]
    if isinstance(value, tuple):
        params.extend(value)
        return f"{lhs} {sql_op} ({', '.join('?' * len(value))})"
    if value is None:
        return f"{lhs} {sql_op}"
    params.append(value)
    return f"{lhs} {sql_op} ?"


def like_patterns(pattern: str) -> tuple[str, str]:
    """Return ``(LIKE pattern with ESCAPE '\\', equivalent case-sensitive GLOB pattern)``.

    ``%`` and ``_`` are wildcards; a backslash makes the next character literal (a trailing
    backslash is itself literal).
    """
    like: list[str] = []
    glob: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char in "%_":
            like.append(char)
            glob.append("*" if char == "%" else "?")
            i += 1
            continue
        if char == "\\" and i + 1 < len(pattern):
            char = pattern[i + 1]
            i += 1
        i += 1
        like.append("\\" + char if char in "%_\\" else char)
        glob.append(f"[{char}]" if char in "*?[" else char)
    return "".join(like), "".join(glob)
