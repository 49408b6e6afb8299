"""The filter AST: frozen dataclasses produced by the parser and consumed by the SQL compiler."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

KeyKind = Literal[
    "attribute",
    "tag",
    "metadata",
    "span",
    "span_attribute",
    "content",
    "feedback",
    "expectation",
    "prompt",
]
Scalar = str | int | float
Operator = Literal[
    "=",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "LIKE",
    "NOT LIKE",
    "ILIKE",
    "NOT ILIKE",
    "RLIKE",
    "NOT RLIKE",
    "IN",
    "NOT IN",
    "IS NULL",
    "IS NOT NULL",
]


@dataclass(frozen=True)
class Key:
    """A resolved key.

    ``name`` is canonical: a trace column (``timestamp_ms``, ``request_id``...) for
    ``attribute``, the case-sensitive key for ``tag``/``metadata``/``span_attribute``, and
    ``name``/``type``/``status`` for ``span``, the assessment's name for
    ``feedback``/``expectation``, ``""`` for ``prompt`` (the trace's linked prompt
    versions). ``text`` is the key as written. Positions and
    source text are left out of equality so tests can build expected trees by hand.
    """

    kind: KeyKind
    name: str
    text: str = field(default="", compare=False)
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Comparison:
    """``key op value``; ``value`` is a tuple for IN/NOT IN and None for IS [NOT] NULL."""

    key: Key
    op: Operator
    value: Scalar | tuple[Scalar, ...] | None
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    """All operands hold (two or more)."""

    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    """At least one operand holds (two or more)."""

    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    """The operand does not hold."""

    operand: Expr


Expr = Comparison | And | Or | Not
