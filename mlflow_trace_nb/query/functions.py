"""SQL functions the compiled filters call, registered on every store connection.

``mtn_regexp(pattern, text)`` backs ``RLIKE``: Python's ``re.search`` (as MLflow's SQL stores
run RLIKE on their engines' regular expressions). Patterns are checked when the filter is
parsed, so a bad one is a ``ValueError`` at the user's call, never an error mid-query.
Compiled patterns are cached; a NULL text never matches.
"""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache
from typing import Any

__all__ = ["MAX_PATTERN_CHARS", "REGEXP_FUNCTION", "check_pattern", "register_functions"]

REGEXP_FUNCTION = "mtn_regexp"
#: Longest RLIKE pattern accepted.
MAX_PATTERN_CHARS = 1000


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def check_pattern(pattern: str) -> str | None:
    """Why ``pattern`` cannot be an RLIKE pattern, or None if it can."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"RLIKE pattern is longer than {MAX_PATTERN_CHARS} characters"
    try:
        _compiled(pattern)
    except re.error as error:
        return f"invalid RLIKE pattern: {error}"
    if _nested_repeat(pattern):
        return (
            "RLIKE pattern repeats a group that itself repeats without bound (such as "
            "'(a+)+' or '(\\w+\\s*)*'): Python's re can take exponential time on it, and "
            "a query cannot be interrupted while it runs; write it without the outer "
            "repetition (for example 'a+' or '[\\w\\s]*')"
        )
    return None


def _nested_repeat(pattern: str) -> bool:
    """True when an unbounded repetition holds another (the classic catastrophic
    backtracking shape). Patterns it flags that would run fine can always be rewritten."""
    from re import _parser  # type: ignore[attr-defined]

    def walk(items: Any, inside: bool) -> bool:
        for op, arg in items:
            found = False
            if op in (_parser.MAX_REPEAT, _parser.MIN_REPEAT, _parser.POSSESSIVE_REPEAT):
                high, body = arg[1], arg[2]
                unbounded = high == _parser.MAXREPEAT and op != _parser.POSSESSIVE_REPEAT
                found = (unbounded and inside) or walk(body, inside or unbounded)
            elif op == _parser.SUBPATTERN:
                found = walk(arg[-1], inside)
            elif op == _parser.BRANCH:
                found = any(walk(branch, inside) for branch in arg[1])
            elif op in (_parser.ASSERT, _parser.ASSERT_NOT):
                found = walk(arg[1], inside)
            if found:
                return True
        return False

    try:
        return walk(_parser.parse(pattern), False)
    except Exception:  # the parser's internals of another Python: compile checks remain
        return False


def _regexp(pattern: object, text: object) -> int | None:
    if pattern is None or text is None:
        return None
    return 1 if _compiled(str(pattern)).search(str(text)) else 0


def register_functions(conn: sqlite3.Connection) -> None:
    """Make the filter functions callable on ``conn``."""
    conn.create_function(REGEXP_FUNCTION, 2, _regexp, deterministic=True)
