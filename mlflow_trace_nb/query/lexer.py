"""Tokenizer for trace filter strings; every token remembers where it started.

Token kinds: dotted keys (``tags.`a.b```), keywords (AND, OR, NOT, IN, LIKE, ILIKE, RLIKE, IS,
NULL), comparison operators, quoted strings, numbers, ``(``, ``)``, ``,`` and a final EOF.

String escapes: ``''`` (or ``""`` in a double-quoted string) and a backslash before the quote
give the quote itself; ``\\\\`` gives one backslash; any other backslash is kept as written, so
``'50\\%'`` reaches a LIKE pattern as ``50\\%`` (a literal percent sign).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "RLIKE", "IS", "NULL"})
_OPERATORS = ("!=", "<>", ">=", "<=", "=", ">", "<")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_EXCERPT_WIDTH = 60


class FilterError(ValueError):
    """A malformed filter string: says what was wrong, where, and shows an excerpt."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        self.text = text
        self.position = position
        self.reason = reason
        super().__init__(
            f"Invalid filter '{excerpt(text, position)}': {reason} at position {position}"
        )


def excerpt(text: str, position: int) -> str:
    """Return ``text``, or a window of it around ``position`` when it is long."""
    if len(text) <= _EXCERPT_WIDTH:
        return text
    half = _EXCERPT_WIDTH // 2
    start = max(0, min(position - half, len(text) - _EXCERPT_WIDTH))
    end = start + _EXCERPT_WIDTH
    return ("..." if start > 0 else "") + text[start:end] + ("..." if end < len(text) else "")


class TokenKind(Enum):
    """What a token is."""

    KEY = "key"
    KEYWORD = "keyword"
    OP = "operator"
    STRING = "string"
    NUMBER = "number"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    EOF = "end of filter"


@dataclass(frozen=True)
class Token:
    """One token: its kind, exact source text, start position and decoded value.

    ``value`` is the decoded string, the number, the upper-cased keyword or the operator;
    ``parts``/``quoted`` hold a key's dotted parts (backticks removed) and which were quoted.
    """

    kind: TokenKind
    text: str
    position: int
    value: str | int | float = ""
    parts: tuple[str, ...] = ()
    quoted: tuple[bool, ...] = ()

    def describe(self) -> str:
        """A short human description for error messages."""
        return "the end of the filter" if self.kind is TokenKind.EOF else f"'{self.text}'"


def _is_name_char(char: str) -> bool:
    return char.isalnum() or char == "_"


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []

    def fail(self, position: int, reason: str) -> FilterError:
        return FilterError(self.text, position, reason)

    def run(self) -> list[Token]:
        text = self.text
        while True:
            while self.pos < len(text) and text[self.pos].isspace():
                self.pos += 1
            if self.pos >= len(text):
                self.tokens.append(Token(TokenKind.EOF, "", len(text)))
                return self.tokens
            self.tokens.append(self.next_token())

    def next_token(self) -> Token:
        text, start = self.text, self.pos
        char = text[start]
        if char in "'\"":
            return self.string()
        if char in "(),":
            self.pos += 1
            kind = {"(": TokenKind.LPAREN, ")": TokenKind.RPAREN, ",": TokenKind.COMMA}[char]
            return Token(kind, char, start, char)
        for op in _OPERATORS:
            if text.startswith(op, start):
                self.pos += len(op)
                return Token(TokenKind.OP, op, start, "!=" if op == "<>" else op)
        if _NUMBER.match(text, start):
            return self.number()
        if char == "`" or _is_name_char(char):
            return self.key()
        raise self.fail(start, f"unexpected character {char!r}")

    def string(self) -> Token:
        text, start = self.text, self.pos
        quote = text[start]
        out: list[str] = []
        i = start + 1
        while i < len(text):
            char = text[i]
            if char == quote:
                if text.startswith(quote, i + 1):
                    out.append(quote)
                    i += 2
                    continue
                self.pos = i + 1
                return Token(TokenKind.STRING, text[start : i + 1], start, "".join(out))
            if char == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
                out.append(text[i + 1])
                i += 2
                continue
            out.append(char)
            i += 1
        raise self.fail(start, f"unterminated string starting with {quote}")

    def number(self) -> Token:
        text, start = self.text, self.pos
        match = _NUMBER.match(text, start)
        assert match is not None
        end = match.end()
        if end < len(text) and (_is_name_char(text[end]) or text[end] in ".`"):
            raise self.fail(start, f"invalid number '{text[start : end + 1]}'")
        source = match.group()
        self.pos = end
        is_int = not any(c in source for c in ".eE")
        value: int | float = int(source) if is_int else float(source)
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise self.fail(start, f"number {source} is out of range")
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            raise self.fail(start, f"number {source} is out of range")
        return Token(TokenKind.NUMBER, source, start, value)

    def key(self) -> Token:
        text, start = self.text, self.pos
        parts: list[str] = []
        quoted: list[bool] = []
        while True:
            part_start = self.pos
            if self.pos < len(text) and text[self.pos] == "`":
                parts.append(self.backtick_part())
                quoted.append(True)
            else:
                while self.pos < len(text) and _is_name_char(text[self.pos]):
                    self.pos += 1
                if self.pos == part_start:
                    raise self.fail(part_start, "expected a key name after '.'")
                parts.append(text[part_start : self.pos])
                quoted.append(False)
            if self.pos < len(text) and text[self.pos] == ".":
                self.pos += 1
                continue
            break
        source = text[start : self.pos]
        if len(parts) == 1 and not quoted[0] and parts[0].upper() in KEYWORDS:
            return Token(TokenKind.KEYWORD, source, start, parts[0].upper())
        return Token(TokenKind.KEY, source, start, source, tuple(parts), tuple(quoted))

    def backtick_part(self) -> str:
        text, start = self.text, self.pos
        out: list[str] = []
        i = start + 1
        while i < len(text):
            if text[i] == "`":
                if text.startswith("`", i + 1):
                    out.append("`")
                    i += 2
                    continue
                self.pos = i + 1
                if not out:
                    raise self.fail(start, "empty backtick-quoted key")
                return "".join(out)
            out.append(text[i])
            i += 1
        raise self.fail(start, "unterminated backtick-quoted key")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens ending with EOF; raise FilterError on a bad character."""
    return _Lexer(text).run()
