"""``as_text``: any value as text, never raising."""

from __future__ import annotations

import enum

from mlflow_trace_nb._internal.text import as_text


class _Kind(enum.Enum):
    LLM = "LLM"
    NUMBERED = 3


class _LoudStr(str):
    def __str__(self) -> str:
        return "not my characters"


class _NoStr:
    def __str__(self) -> str:
        raise RuntimeError("no")


class _WrongStr:
    def __str__(self) -> object:  # type: ignore[override]
        return 5


def test_as_text() -> None:
    assert as_text("plain") == "plain"
    assert as_text(_Kind.LLM) == "LLM" and as_text(_Kind.NUMBERED) == "3"
    assert as_text(_LoudStr("mine")) == "mine" and type(as_text(_LoudStr("x"))) is str
    assert as_text(12) == "12" and as_text(None) == "None"
    assert as_text(_NoStr()) == "<unprintable _NoStr>"
    assert as_text(_WrongStr()) == "<unprintable _WrongStr>"
