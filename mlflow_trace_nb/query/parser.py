"""Recursive-descent parser for trace filters: tokens in, a checked AST out.

Grammar (keywords case-insensitive; NOT binds tighter than AND, AND tighter than OR)::

    filter     := or EOF
    or         := and (OR and)*
    and        := not (AND not)*
    not        := NOT not | '(' or ')' | comparison
    comparison := KEY op value
    op         := = | != | <> | > | >= | < | <= | [NOT] (LIKE | ILIKE | RLIKE | IN)
                | IS [NOT] NULL

``feedback.<name>`` and ``expectation.<name>`` (MLflow 3's) compare the JSON value of the
trace's valid assessments of that name (=, !=, <, <=, >, >=, [NOT] LIKE/ILIKE/RLIKE,
IS [NOT] NULL; not IN). ``span.content`` and ``trace.text`` (MLflow 3's) search the text
of a span: its name, inputs, outputs and attributes as stored; a trace matches when one of its
spans does. ``prompt = 'name/version'`` (MLflow 3's; also ``trace.prompt``) matches traces
linked to that prompt version (the ``mlflow.linkedPrompts`` tag); only ``=``, as MLflow.

Keys are resolved here (prefix and attribute names are case-insensitive) and every value is
checked against its key, so the compiler only ever sees well-typed comparisons.
"""

from __future__ import annotations

import re
from typing import Literal, NoReturn

from mlflow_trace_nb import keys
from mlflow_trace_nb.query.ast import And, Comparison, Expr, Key, Not, Operator, Or, Scalar
from mlflow_trace_nb.query.functions import check_pattern
from mlflow_trace_nb.query.lexer import FilterError, Token, TokenKind, tokenize

ATTRIBUTES = {
    "status": "status",
    "name": "name",
    "timestamp_ms": "timestamp_ms",
    "timestamp": "timestamp_ms",
    "execution_time_ms": "execution_time_ms",
    "execution_time": "execution_time_ms",
    "end_time_ms": "end_time_ms",
    "end_time": "end_time_ms",
    "request_id": "request_id",
    "trace_id": "request_id",
    "experiment_id": "experiment_id",
}
#: MLflow 3's trace attributes that are request-metadata entries here.
METADATA_ATTRIBUTES = {"run_id": keys.SOURCE_RUN, "client_request_id": keys.CLIENT_REQUEST_ID}
_NUMERIC_ATTRIBUTES = frozenset({"timestamp_ms", "execution_time_ms", "end_time_ms"})
_ATTRIBUTE_PREFIXES = frozenset({"attributes", "attribute", "trace"})
_TAG_PREFIXES = frozenset({"tags", "tag"})
_METADATA_PREFIXES = frozenset({"metadata", "request_metadata"})
_SPAN_FIELDS = frozenset({"name", "type", "status"})
_SPAN_ATTRIBUTE_PREFIXES = frozenset({"attributes", "attribute"})
_ASSESSMENT_PREFIXES = frozenset({"feedback", "expectation"})
_PREFIXES = _ATTRIBUTE_PREFIXES | _TAG_PREFIXES | _METADATA_PREFIXES | _ASSESSMENT_PREFIXES
_PREFIXES |= {"span"}
_INTEGER_TEXT = re.compile(r"\s*[+-]?\d+\s*")
_LIKE_OPS = frozenset({"LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE", "RLIKE", "NOT RLIKE"})
_CONTENT_OPS = frozenset({"=", "!=", *_LIKE_OPS})
_TEXT_KEYS = frozenset({"text"})  # trace.text, attributes.text, text
_PROMPT_KEYS = frozenset({"prompt"})  # prompt, trace.prompt, attributes.prompt
_NULL_OPS = frozenset({"IS NULL", "IS NOT NULL"})
_NUMERIC_OPS = frozenset({">", ">=", "<", "<="})
_OPERATORS: dict[str, Operator] = {
    "=": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<=",
    "LIKE": "LIKE", "ILIKE": "ILIKE", "IN": "IN",
    "NOT LIKE": "NOT LIKE", "NOT ILIKE": "NOT ILIKE", "NOT IN": "NOT IN",
    "RLIKE": "RLIKE", "NOT RLIKE": "NOT RLIKE",
}  # fmt: skip
MAX_DEPTH = 20  # SQLite's parser stack (100 entries in many builds) bounds nesting
MAX_CONDITIONS = 1000
MAX_VALUES = 10_000

ValueKind = Literal["number", "integer", "string", "any"]


def value_kind(key: Key) -> ValueKind:
    """What values ``key`` compares against."""
    if key.kind == "attribute" and key.name in _NUMERIC_ATTRIBUTES:
        return "number"
    if key.kind == "attribute" and key.name == "experiment_id":
        return "integer"
    return "any" if key.kind in ("span_attribute", "feedback", "expectation") else "string"


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.conditions = 0
        self.values = 0

    def fail(self, position: int, reason: str) -> NoReturn:
        raise FilterError(self.text, position, reason)

    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not TokenKind.EOF:
            self.index += 1
        return token

    def at_keyword(self, word: str) -> bool:
        token = self.peek()
        return token.kind is TokenKind.KEYWORD and token.value == word

    def parse(self) -> Expr:
        expr = self.parse_or()
        token = self.peek()
        if token.kind is TokenKind.RPAREN:
            self.fail(token.position, "unbalanced parentheses: ')' has no matching '('")
        if token.kind is not TokenKind.EOF:
            self.fail(
                token.position, f"expected AND, OR or the end of the filter, got {token.describe()}"
            )
        return expr

    def parse_or(self) -> Expr:
        operands = [self.parse_and()]
        while self.at_keyword("OR"):
            self.advance()
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def parse_and(self) -> Expr:
        operands = [self.parse_not()]
        while self.at_keyword("AND"):
            self.advance()
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(token.position, f"filter is nested more than {MAX_DEPTH} levels deep")

    def parse_not(self) -> Expr:
        token = self.peek()
        if self.at_keyword("NOT"):
            self.advance()
            self.enter(token)
            operand = self.parse_not()
            self.depth -= 1
            return Not(operand)
        if token.kind is TokenKind.LPAREN:
            self.advance()
            self.enter(token)
            expr = self.parse_or()
            self.depth -= 1
            closing = self.peek()
            if closing.kind is TokenKind.EOF:
                self.fail(token.position, "unbalanced parentheses: '(' is never closed")
            if closing.kind is not TokenKind.RPAREN:
                self.fail(closing.position, f"expected AND, OR or ')', got {closing.describe()}")
            self.advance()
            return expr
        if token.kind is TokenKind.KEY:
            return self.parse_comparison()
        after = f" after {self.tokens[self.index - 1].describe()}" if self.index else ""
        self.fail(
            token.position,
            f"expected a condition (a key such as status or tags.<name>){after}, "
            f"got {token.describe()}",
        )

    def parse_comparison(self) -> Comparison:
        key_token = self.advance()
        key = resolve_key(key_token, self.text)
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            self.fail(key_token.position, f"filter has more than {MAX_CONDITIONS} conditions")
        op_token, op = self.parse_operator(key_token)
        kind = value_kind(key)
        if op in _LIKE_OPS and kind in ("number", "integer"):
            self.fail(
                op_token.position, f"operator {op} does not apply to {key.text}, which is numeric"
            )
        if op in _NULL_OPS and key.kind == "span":
            self.fail(op_token.position, f"operator {op} does not apply to {key.text}")
        if key.kind == "content" and op not in _CONTENT_OPS:
            self.fail(
                op_token.position,
                f"operator {op} does not apply to {key.text} "
                "(use =, !=, LIKE, ILIKE or RLIKE and their NOT forms)",
            )
        if key.kind == "prompt" and op != "=":
            self.fail(
                op_token.position,
                f"Invalid comparator '{op}' for prompts filter. "
                "Only '=' is supported with format: prompt = \"name/version\"",
            )
        if key.kind in _ASSESSMENT_PREFIXES and op in ("IN", "NOT IN"):
            self.fail(
                op_token.position,
                f"operator {op} does not apply to {key.text} (use =, !=, <, <=, >, >=, "
                "LIKE, ILIKE, RLIKE, IS NULL or IS NOT NULL)",
            )
        value: Scalar | tuple[Scalar, ...] | None = None
        if op in ("IN", "NOT IN"):
            value = self.parse_list(key, op)
        elif op not in _NULL_OPS:
            value = self.parse_value(
                key, op, op_token.text if op_token.kind is TokenKind.OP else op
            )
        if key.kind in _ASSESSMENT_PREFIXES and op in _NUMERIC_OPS and _as_float(value) is None:
            self.fail(op_token.position, f"operator {op} on {key.text} needs a number")
        if key.kind == "prompt" and str(value).count("/") != 1:
            self.fail(
                op_token.position,
                f"Invalid prompts filter value '{value}'. "
                'Expected format: prompt = "name/version"',
            )
        if op in ("RLIKE", "NOT RLIKE"):
            problem = check_pattern(str(value))
            if problem is not None:
                self.fail(op_token.position, problem)
        return Comparison(key, op, value, key_token.position)

    def parse_operator(self, key_token: Token) -> tuple[Token, Operator]:
        token = self.peek()
        if token.kind is TokenKind.OP:
            self.advance()
            return token, _OPERATORS[str(token.value)]
        word = token.value if token.kind is TokenKind.KEYWORD else None
        if word in ("LIKE", "ILIKE", "RLIKE", "IN"):
            self.advance()
            return token, _OPERATORS[str(word)]
        if word == "NOT":
            self.advance()
            nxt = self.peek()
            if nxt.kind is TokenKind.KEYWORD and nxt.value in ("LIKE", "ILIKE", "RLIKE", "IN"):
                self.advance()
                return token, _OPERATORS[f"NOT {nxt.value}"]
            self.fail(
                nxt.position, f"expected LIKE, ILIKE, RLIKE or IN after NOT, got {nxt.describe()}"
            )
        if word == "IS":
            self.advance()
            negated = self.at_keyword("NOT")
            if negated:
                self.advance()
            if not self.at_keyword("NULL"):
                after = "IS NOT" if negated else "IS"
                self.fail(
                    self.peek().position,
                    f"expected NULL after {after}, got {self.peek().describe()}",
                )
            self.advance()
            return token, "IS NOT NULL" if negated else "IS NULL"
        self.fail(
            token.position,
            f"expected an operator after '{key_token.text}', got {token.describe()}",
        )

    def parse_value(self, key: Key, op: str, op_text: str) -> Scalar:
        token = self.peek()
        if token.kind not in (TokenKind.STRING, TokenKind.NUMBER):
            got = "" if token.kind is TokenKind.EOF else f", got {token.describe()}"
            hint = "; use IS NULL or IS NOT NULL" if token.value == "NULL" else ""
            self.fail(token.position, f"expected a value after '{op_text}'{got}{hint}")
        self.advance()
        self.values += 1
        if self.values > MAX_VALUES:
            self.fail(token.position, f"filter has more than {MAX_VALUES} values")
        return self.coerce(key, op, token)

    def parse_list(self, key: Key, op: str) -> tuple[Scalar, ...]:
        opening = self.peek()
        if opening.kind is not TokenKind.LPAREN:
            self.fail(opening.position, f"expected '(' after {op}, got {opening.describe()}")
        self.advance()
        if self.peek().kind is TokenKind.RPAREN:
            self.fail(opening.position, f"the {op} list is empty")
        items = [self.parse_value(key, op, "(")]
        while True:
            token = self.peek()
            if token.kind is TokenKind.RPAREN:
                self.advance()
                return tuple(items)
            if token.kind is TokenKind.EOF:
                self.fail(
                    opening.position, f"unbalanced parentheses: the {op} list is never closed"
                )
            if token.kind is not TokenKind.COMMA:
                self.fail(
                    token.position, f"expected ',' or ')' in the {op} list, got {token.describe()}"
                )
            self.advance()
            items.append(self.parse_value(key, op, ","))

    def coerce(self, key: Key, op: str, token: Token) -> Scalar:
        kind = value_kind(key)
        value = token.value
        is_number = token.kind is TokenKind.NUMBER
        if kind == "number" and not is_number:
            self.fail(token.position, f"{key.text} expects a number, got {token.text}")
        if kind == "integer":
            number = _as_int(value)
            if number is None:
                self.fail(token.position, f"{key.text} expects an integer, got {token.text}")
            return number
        if kind == "string" and is_number:
            self.fail(token.position, f"{key.text} expects a quoted string, got {token.text}")
        if op in _LIKE_OPS and is_number:
            self.fail(token.position, f"{op} expects a quoted string pattern, got {token.text}")
        return value


def _as_int(value: Scalar) -> int | None:
    """``value`` as a 64-bit integer if it is one (``7``, ``7.0``, ``'7'``), else None."""
    integral_float = isinstance(value, float) and value.is_integer()
    if integral_float or (isinstance(value, str) and _INTEGER_TEXT.fullmatch(value)):
        value = int(value)
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return value
    return None


def _as_float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def resolve_key(token: Token, filter_text: str) -> Key:
    """Turn a KEY token into a Key, or raise FilterError at the key's position."""
    parts, text, pos = token.parts, token.text, token.position
    head = parts[0].lower()
    rest = ".".join(parts[1:])

    def fail(reason: str) -> NoReturn:
        raise FilterError(filter_text, pos, reason)

    def unknown_attribute(name: str) -> NoReturn:
        known = ", ".join(sorted([*ATTRIBUTES, *METADATA_ATTRIBUTES]))
        fail(f"unknown trace attribute '{name}' (expected one of {known})")

    if len(parts) == 1:
        if head in _TEXT_KEYS:
            return Key("content", "trace", text, pos)
        if head in _PROMPT_KEYS:
            return Key("prompt", "", text, pos)
        if head in ATTRIBUTES:
            return Key("attribute", ATTRIBUTES[head], text, pos)
        if head in METADATA_ATTRIBUTES:
            return Key("metadata", METADATA_ATTRIBUTES[head], text, pos)
        if head in _PREFIXES:
            fail(f"'{parts[0]}' needs a key after it, e.g. {head}.<name>")
        unknown_attribute(parts[0])
    if head in _ATTRIBUTE_PREFIXES:
        if rest.lower() in _TEXT_KEYS:
            return Key("content", "trace", text, pos)
        if rest.lower() in _PROMPT_KEYS:
            return Key("prompt", "", text, pos)
        if rest.lower() in METADATA_ATTRIBUTES:
            return Key("metadata", METADATA_ATTRIBUTES[rest.lower()], text, pos)
        if rest.lower() not in ATTRIBUTES:
            unknown_attribute(rest)
        return Key("attribute", ATTRIBUTES[rest.lower()], text, pos)
    if head in _TAG_PREFIXES:
        return Key("tag", rest, text, pos)
    if head in _METADATA_PREFIXES:
        return Key("metadata", rest, text, pos)
    if head in _ASSESSMENT_PREFIXES:
        return Key("feedback" if head == "feedback" else "expectation", rest, text, pos)
    if head != "span":
        fail(
            f"unknown key prefix '{parts[0]}' "
            "(expected attributes., trace., tags., metadata., request_metadata., span., "
            "feedback. or expectation.)"
        )
    field = parts[1].lower()
    if len(parts) == 2 and field == "content":
        return Key("content", "span", text, pos)
    if len(parts) == 2 and field in _SPAN_FIELDS:
        return Key("span", field, text, pos)
    if field not in _SPAN_ATTRIBUTE_PREFIXES:
        fail(
            f"unknown span field '{rest}' "
            "(expected span.name, span.type, span.status, span.content or "
            "span.attributes.<key>)"
        )
    name = ".".join(parts[2:])
    if not name:
        fail(f"'{text}' needs a key after it, e.g. span.attributes.<name>")
    if '"' in name:
        fail(f"span attribute key {name!r} must not contain a double quote")
    return Key("span_attribute", name, text, pos)


def parse(text: str) -> Expr:
    """Parse a filter string into a checked AST; raise FilterError (a ValueError) if malformed."""
    return _Parser(text).parse()
