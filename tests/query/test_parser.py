"""Parser: key resolution, operators, values, precedence and errors with exact positions."""

from __future__ import annotations

import pytest

from mlflow_trace_nb.query.ast import And, Comparison, Expr, Key, Not, Or
from mlflow_trace_nb.query.lexer import FilterError
from mlflow_trace_nb.query.parser import MAX_CONDITIONS, MAX_DEPTH, parse

A = Comparison(Key("attribute", "status"), "=", "A")
B = Comparison(Key("attribute", "status"), "=", "B")
C = Comparison(Key("attribute", "status"), "=", "C")


def status(value: str) -> str:
    return f"status = '{value}'"


@pytest.mark.parametrize(
    ("text", "kind", "name"),
    [
        ("status", "attribute", "status"),
        ("attributes.status", "attribute", "status"),
        ("attribute.status", "attribute", "status"),
        ("trace.status", "attribute", "status"),
        ("ATTRIBUTES.Status", "attribute", "status"),
        ("`attributes`.`status`", "attribute", "status"),
        ("trace.name", "attribute", "name"),
        ("timestamp", "attribute", "timestamp_ms"),
        ("trace.timestamp_ms", "attribute", "timestamp_ms"),
        ("execution_time_ms", "attribute", "execution_time_ms"),
        ("trace_id", "attribute", "request_id"),
        ("attributes.request_id", "attribute", "request_id"),
        ("experiment_id", "attribute", "experiment_id"),
        ("tags.env", "tag", "env"),
        ("tag.env", "tag", "env"),
        ("TAGS.Env", "tag", "Env"),
        ("tags.`mlflow.traceName`", "tag", "mlflow.traceName"),
        ("tags.mlflow.traceName", "tag", "mlflow.traceName"),
        ("tags.a.`b.c`", "tag", "a.b.c"),
        ("tags.`with space`", "tag", "with space"),
        ("metadata.user", "metadata", "user"),
        ("request_metadata.user", "metadata", "user"),
        ("span.name", "span", "name"),
        ("SPAN.TYPE", "span", "type"),
        ("span.status", "span", "status"),
        ("span.attributes.model", "span_attribute", "model"),
        ("span.attribute.model", "span_attribute", "model"),
        ("span.attributes.`llm.token_count`", "span_attribute", "llm.token_count"),
        ("span.attributes.llm.token_count", "span_attribute", "llm.token_count"),
        ("span.Attributes.Model", "span_attribute", "Model"),
    ],
)
def test_key_resolution(text: str, kind: str, name: str) -> None:
    expr = parse(f"{text} IS NOT NULL" if kind != "span" else f"{text} = 'x'")
    assert isinstance(expr, Comparison)
    assert (expr.key.kind, expr.key.name, expr.key.text) == (kind, name, text)


@pytest.mark.parametrize(
    ("text", "op", "value"),
    [
        ("status = 'a'", "=", "a"),
        ("status != 'a'", "!=", "a"),
        ("status <> 'a'", "!=", "a"),
        ("status > 'a'", ">", "a"),
        ("status >= 'a'", ">=", "a"),
        ("status < 'a'", "<", "a"),
        ("status <= 'a'", "<=", "a"),
        ("status LIKE 'a%'", "LIKE", "a%"),
        ("status like 'a%'", "LIKE", "a%"),
        ("status NOT LIKE 'a%'", "NOT LIKE", "a%"),
        ("status ILIKE 'a%'", "ILIKE", "a%"),
        ("status not ilike 'a%'", "NOT ILIKE", "a%"),
        ("status IN ('a')", "IN", ("a",)),
        ("status IN ('a', \"b\",'c')", "IN", ("a", "b", "c")),
        ("status NOT IN ('a', 'b')", "NOT IN", ("a", "b")),
        ("status IS NULL", "IS NULL", None),
        ("status is not null", "IS NOT NULL", None),
        ("timestamp_ms > 1.5e3", ">", 1500.0),
        ("timestamp_ms IN (1, -2, 3e0)", "IN", (1, -2, 3.0)),
        ("experiment_id = '7'", "=", 7),
        ("experiment_id = 7", "=", 7),
        ("experiment_id = 7.0", "=", 7),
        ("experiment_id IN ('1', 2)", "IN", (1, 2)),
        ("span.attributes.n = 5", "=", 5),
        ("span.attributes.n = '5'", "=", "5"),
        ("span.attributes.n >= -2.5E-1", ">=", -0.25),
    ],
)
def test_operators_and_values(text: str, op: str, value: object) -> None:
    expr = parse(text)
    assert isinstance(expr, Comparison)
    assert (expr.op, expr.value) == (op, value)
    assert type(expr.value) is type(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{status('A')} OR {status('B')} AND {status('C')}", Or((A, And((B, C))))),
        (f"{status('A')} AND {status('B')} OR {status('C')}", Or((And((A, B)), C))),
        (f"({status('A')} OR {status('B')}) AND {status('C')}", And((Or((A, B)), C))),
        (f"NOT {status('A')} AND {status('B')}", And((Not(A), B))),
        (f"NOT ({status('A')} AND {status('B')})", Not(And((A, B)))),
        (f"NOT NOT {status('A')}", Not(Not(A))),
        (f"{status('A')} or {status('B')} or {status('C')}", Or((A, B, C))),
        (f"{status('A')} and {status('B')} and {status('C')}", And((A, B, C))),
        (f"((({status('A')})))", A),
        (
            f"(({status('A')}) AND (({status('B')}) OR NOT ({status('C')})))",
            And((A, Or((B, Not(C))))),
        ),
        (
            f"{status('A')} AND NOT {status('B')} OR NOT NOT {status('C')}",
            Or((And((A, Not(B))), Not(Not(C)))),
        ),
    ],
)
def test_precedence_and_grouping(text: str, expected: Expr) -> None:
    assert parse(text) == expected


def test_positions_are_recorded() -> None:
    expr = parse("status = 'a' AND   tags.x = 'b'")
    assert isinstance(expr, And)
    first, second = expr.operands
    assert isinstance(first, Comparison) and isinstance(second, Comparison)
    assert (first.position, second.position, second.key.position) == (0, 19, 19)


def test_injection_text_is_data() -> None:
    expr = parse("tags.`a'; DROP TABLE traces; --` = 'x'' OR 1=1 --'")
    assert expr == Comparison(Key("tag", "a'; DROP TABLE traces; --"), "=", "x' OR 1=1 --")


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("", 0, "expected a condition (a key such as status or tags.<name>), got the end"),
        ("status = ", 9, "expected a value after '='"),
        ("status =", 8, "expected a value after '='"),
        ("status", 6, "expected an operator after 'status', got the end of the filter"),
        ("status 'x'", 7, "expected an operator after 'status', got ''x''"),
        ("foo.bar = 'x'", 0, "unknown key prefix 'foo'"),
        ("attributes.foo = 'x'", 0, "unknown trace attribute 'foo'"),
        ("attributes.status.x = 'x'", 0, "unknown trace attribute 'status.x'"),
        ("stauts = 'x'", 0, "unknown trace attribute 'stauts'"),
        ("status = 'x' AND tagz.k = 'y'", 17, "unknown key prefix 'tagz'"),
        ("tags = 'x'", 0, "'tags' needs a key after it"),
        ("span.foo = 'x'", 0, "unknown span field 'foo'"),
        ("span.name.x = 'x'", 0, "unknown span field 'name.x'"),
        ("span.attributes = 1", 0, "needs a key after it"),
        ('span.attributes.`a"b` = 1', 0, "must not contain a double quote"),
        ("status = 'abc", 9, "unterminated string"),
        ("(status = 'x'", 0, "unbalanced parentheses: '(' is never closed"),
        ("((status = 'x')", 0, "'(' is never closed"),
        ("(status = 'x' OR (status = 'y')", 0, "'(' is never closed"),
        ("status = 'x')", 12, "unbalanced parentheses: ')' has no matching '('"),
        ("(status = 'x'))", 14, "')' has no matching '('"),
        ("(status = 'x' foo = 'y')", 14, "expected AND, OR or ')', got 'foo'"),
        ("status IN ()", 10, "the IN list is empty"),
        ("status NOT IN ()", 14, "the NOT IN list is empty"),
        ("status IN ('a',)", 15, "expected a value after ','"),
        ("status IN ('a' 'b')", 15, "expected ',' or ')' in the IN list, got ''b''"),
        ("status IN ('a'", 10, "unbalanced parentheses: the IN list is never closed"),
        ("status IN 'a'", 10, "expected '(' after IN"),
        ("status = 'x' foo", 13, "expected AND, OR or the end of the filter, got 'foo'"),
        ("status = 'x' 'y'", 13, "expected AND, OR or the end of the filter"),
        ("status = 'x' AND", 16, "after 'AND', got the end of the filter"),
        ("status = 'x' OR OR status = 'y'", 16, "after 'OR', got 'OR'"),
        ("AND status = 'x'", 0, "expected a condition"),
        ("()", 1, "after '(', got ')'"),
        ("'x' = status", 0, "expected a condition"),
        ("timestamp_ms LIKE '1%'", 13, "operator LIKE does not apply to timestamp_ms"),
        ("attributes.execution_time_ms NOT ILIKE '1%'", 29, "operator NOT ILIKE does not apply"),
        ("experiment_id LIKE '1%'", 14, "operator LIKE does not apply to experiment_id"),
        ("span.name IS NULL", 10, "operator IS NULL does not apply to span.name"),
        (
            "attributes.timestamp_ms >= 'abc'",
            27,
            "attributes.timestamp_ms expects a number, got 'abc'",
        ),
        ("timestamp_ms IN (1, '2')", 20, "timestamp_ms expects a number, got '2'"),
        ("status = 5", 9, "status expects a quoted string, got 5"),
        ("tags.k = 5", 9, "tags.k expects a quoted string, got 5"),
        ("span.type IN ('LLM', 1e3)", 21, "span.type expects a quoted string, got 1e3"),
        ("span.attributes.x LIKE 5", 23, "LIKE expects a quoted string pattern, got 5"),
        ("experiment_id = 1.5", 16, "experiment_id expects an integer, got 1.5"),
        ("experiment_id = 'abc'", 16, "experiment_id expects an integer, got 'abc'"),
        ("experiment_id = '99999999999999999999'", 16, "expects an integer"),
        ("experiment_id = 1e30", 16, "expects an integer"),
        ("status = NULL", 9, "expected a value after '=', got 'NULL'; use IS NULL or IS NOT NULL"),
        ("status IS 'x'", 10, "expected NULL after IS, got ''x''"),
        ("status IS NOT 5", 14, "expected NULL after IS NOT, got '5'"),
        ("status NOT = 'x'", 11, "expected LIKE, ILIKE, RLIKE or IN after NOT, got '='"),
        ("status == 'x'", 8, "expected a value after '=', got '='"),
        ("status = 'x' OR 1=1", 16, "expected a condition (a key such as status or tags.<name>)"),
        ("status = 'x' OR 1=1 --", 20, "unexpected character '-'"),
        ("status = 'x'; DROP TABLE traces; --", 12, "unexpected character ';'"),
    ],
)
def test_errors(text: str, position: int, reason: str) -> None:
    with pytest.raises(FilterError) as info:
        parse(text)
    assert info.value.position == position
    assert reason in info.value.reason
    assert str(info.value) == f"Invalid filter '{text}': {info.value.reason} at position {position}"


def test_error_message_for_missing_value_matches_spec() -> None:
    with pytest.raises(ValueError) as info:
        parse("status = ")
    assert str(info.value) == "Invalid filter 'status = ': expected a value after '=' at position 9"


def test_nesting_limit() -> None:
    ok = "(" * MAX_DEPTH + status("A") + ")" * MAX_DEPTH
    assert parse(ok) == A
    too_deep = "(" * (MAX_DEPTH + 1) + status("A") + ")" * (MAX_DEPTH + 1)
    with pytest.raises(FilterError, match="nested more than") as info:
        parse(too_deep)
    assert info.value.position == MAX_DEPTH
    with pytest.raises(FilterError, match="nested more than"):
        parse("NOT " * (MAX_DEPTH + 1) + status("A"))


def test_condition_limit() -> None:
    assert isinstance(parse(" OR ".join([status("A")] * MAX_CONDITIONS)), Or)
    with pytest.raises(FilterError, match=f"more than {MAX_CONDITIONS} conditions"):
        parse(" OR ".join([status("A")] * (MAX_CONDITIONS + 1)))
