"""Tokenizer: kinds, decoded values, positions and lexical errors."""

from __future__ import annotations

import pytest

from mlflow_trace_nb.query.lexer import FilterError, Token, TokenKind, excerpt, tokenize


def kinds(text: str) -> list[TokenKind]:
    return [token.kind for token in tokenize(text)]


def test_simple_comparison_tokens_and_positions() -> None:
    tokens = tokenize("status = 'OK'")
    assert [(t.kind, t.text, t.position) for t in tokens] == [
        (TokenKind.KEY, "status", 0),
        (TokenKind.OP, "=", 7),
        (TokenKind.STRING, "'OK'", 9),
        (TokenKind.EOF, "", 13),
    ]
    assert tokens[0].parts == ("status",)
    assert tokens[2].value == "OK"


def test_keywords_are_case_insensitive_and_upper_cased() -> None:
    tokens = tokenize("a and B Or not x In like ILike is NULL")
    words = [t.value for t in tokens if t.kind is TokenKind.KEYWORD]
    assert words == ["AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "IS", "NULL"]


def test_keyword_inside_dotted_key_is_a_key() -> None:
    (token, _eof) = tokenize("tags.and")
    assert token.kind is TokenKind.KEY
    assert token.parts == ("tags", "and")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("=", "="), ("!=", "!="), ("<>", "!="), (">", ">"), (">=", ">="), ("<", "<"), ("<=", "<=")],
)
def test_operators(text: str, expected: str) -> None:
    token = tokenize(text)[0]
    assert (token.kind, token.value, token.text) == (TokenKind.OP, expected, text)


def test_operators_without_spaces() -> None:
    tokens = tokenize("timestamp_ms>=-5")
    assert [t.kind for t in tokens] == [
        TokenKind.KEY,
        TokenKind.OP,
        TokenKind.NUMBER,
        TokenKind.EOF,
    ]
    assert tokens[2].value == -5
    assert tokens[2].position == 14


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("'plain'", "plain"),
        ("'it''s'", "it's"),
        ("'it\\'s'", "it's"),
        ('"double"', "double"),
        ('"say ""hi"""', 'say "hi"'),
        ('"it\'s"', "it's"),
        ("'back\\\\slash'", "back\\slash"),
        ("'50\\%'", "50\\%"),
        ("''", ""),
        ("'unicodé ✓'", "unicodé ✓"),
        ("'a; DROP TABLE traces; --'", "a; DROP TABLE traces; --"),
    ],
)
def test_string_escapes(source: str, value: str) -> None:
    token = tokenize(source)[0]
    assert token.kind is TokenKind.STRING
    assert token.value == value
    assert token.text == source


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("+7", 7),
        ("1.5", 1.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("1E3", 1000.0),
        ("2.5e-3", 0.0025),
        ("-1.5E+2", -150.0),
    ],
)
def test_numbers(source: str, value: float) -> None:
    token = tokenize(source)[0]
    assert token.kind is TokenKind.NUMBER
    assert token.value == value
    assert type(token.value) is type(value)


def test_backtick_parts() -> None:
    token = tokenize("tags.`mlflow.traceName`")[0]
    assert token.kind is TokenKind.KEY
    assert token.parts == ("tags", "mlflow.traceName")
    assert token.quoted == (False, True)
    assert token.text == "tags.`mlflow.traceName`"


def test_backticks_in_every_part_and_escaped_backtick() -> None:
    token = tokenize("`span`.`attributes`.`a``b`")[0]
    assert token.parts == ("span", "attributes", "a`b")
    assert token.quoted == (True, True, True)


def test_backticked_keyword_is_a_key() -> None:
    token = tokenize("`AND`")[0]
    assert token.kind is TokenKind.KEY
    assert token.parts == ("AND",)


def test_dotted_key_without_backticks_keeps_all_parts() -> None:
    assert tokenize("tags.a.b_1.2c")[0].parts == ("tags", "a", "b_1", "2c")


def test_parentheses_and_commas() -> None:
    assert kinds("x IN ('a','b')") == [
        TokenKind.KEY,
        TokenKind.KEYWORD,
        TokenKind.LPAREN,
        TokenKind.STRING,
        TokenKind.COMMA,
        TokenKind.STRING,
        TokenKind.RPAREN,
        TokenKind.EOF,
    ]


def test_eof_position_is_text_length_including_trailing_space() -> None:
    assert tokenize("status =   ")[-1].position == 11
    assert tokenize("")[0] == Token(TokenKind.EOF, "", 0)


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("status = 'abc", 9, "unterminated string starting with '"),
        ('status = "abc', 9, 'unterminated string starting with "'),
        ("status = 'abc\\'", 9, "unterminated string"),
        ("tags.`abc = 'x'", 5, "unterminated backtick-quoted key"),
        ("tags.`` = 'x'", 5, "empty backtick-quoted key"),
        ("tags. = 'x'", 5, "expected a key name after '.'"),
        ("tags.a. = 'x'", 7, "expected a key name after '.'"),
        ("status = 'x'; DROP TABLE traces", 12, "unexpected character ';'"),
        ("status = 'x' -- comment", 13, "unexpected character '-'"),
        ("status ! 'x'", 7, "unexpected character '!'"),
        ("timestamp_ms = 12abc", 15, "invalid number '12a'"),
        ("timestamp_ms = 1e", 15, "invalid number '1e'"),
        ("timestamp_ms = 1.2.3", 15, "invalid number '1.2.'"),
        ("timestamp_ms = 99999999999999999999", 15, "is out of range"),
        ("timestamp_ms = 1e999", 15, "is out of range"),
    ],
)
def test_lexical_errors(text: str, position: int, reason: str) -> None:
    with pytest.raises(FilterError) as info:
        tokenize(text)
    assert info.value.position == position
    assert reason in info.value.reason
    assert str(info.value).endswith(f"at position {position}")
    assert isinstance(info.value, ValueError)


def test_error_message_format() -> None:
    with pytest.raises(ValueError, match=r"^Invalid filter 'a = \"x': unterminated string"):
        tokenize('a = "x')


def test_excerpt_of_long_text_is_a_window_around_the_position() -> None:
    text = "status = 'OK' AND " * 10 + "$"
    shown = excerpt(text, len(text) - 1)
    assert shown.startswith("...")
    assert shown.endswith("$")
    assert len(shown) == 63
    assert excerpt("short", 2) == "short"
    middle = excerpt("x" * 50 + "!" + "y" * 50, 50)
    assert middle.startswith("...") and middle.endswith("...") and "!" in middle
