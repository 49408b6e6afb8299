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
    return None


def _regexp(pattern: object, text: object) -> int | None:
    if pattern is None or text is None:
        return None
    return 1 if _compiled(str(pattern)).search(str(text)) else 0


def register_functions(conn: sqlite3.Connection) -> None:
    """Make the filter functions callable on ``conn``."""
    conn.create_function(REGEXP_FUNCTION, 2, _regexp, deterministic=True)
