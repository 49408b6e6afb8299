"""Changing the tags of a stored trace: ``traces.tags`` (the JSON object DataFrames read) and
the ``trace_tags`` rows (what filters use) change together, in one transaction.

Keys and values are made safe and bounded like every text field (``store.limits``).
"""

from __future__ import annotations

import json
import sqlite3

from mlflow_trace_nb.store.limits import MAX_KEY_CHARS, MAX_VALUE_CHARS, clean_text

__all__ = ["delete_tag", "set_tag"]


def _tags(conn: sqlite3.Connection, request_id: str) -> dict[str, str] | None:
    row = conn.execute("SELECT tags FROM traces WHERE request_id = ?", (request_id,)).fetchone()
    if row is None:
        return None
    try:
        tags = json.loads(row[0] or "{}")
    except ValueError:
        tags = {}
    return tags if isinstance(tags, dict) else {}


def _save(conn: sqlite3.Connection, request_id: str, tags: dict[str, str]) -> None:
    conn.execute(
        "UPDATE traces SET tags = ? WHERE request_id = ?",
        (json.dumps(tags, ensure_ascii=False), request_id),
    )


def set_tag(conn: sqlite3.Connection, request_id: str, key: object, value: object) -> bool:
    """Set tag ``key`` of stored trace ``request_id``; False if there is no such trace."""
    key_text, value_text = clean_text(key, MAX_KEY_CHARS), clean_text(value, MAX_VALUE_CHARS)
    conn.execute("BEGIN IMMEDIATE")
    try:
        tags = _tags(conn, request_id)
        if tags is None:
            conn.execute("ROLLBACK")
            return False
        tags[key_text] = value_text
        _save(conn, request_id, tags)
        conn.execute(
            "DELETE FROM trace_tags WHERE request_id = ? AND key = ?", (request_id, key_text)
        )
        conn.execute(
            "INSERT INTO trace_tags (request_id, key, value) VALUES (?, ?, ?)",
            (request_id, key_text, value_text),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True


def delete_tag(conn: sqlite3.Connection, request_id: str, key: object) -> bool | None:
    """Remove tag ``key``: True if removed, False if the trace lacks it, None if no trace."""
    key_text = clean_text(key, MAX_KEY_CHARS)
    conn.execute("BEGIN IMMEDIATE")
    try:
        tags = _tags(conn, request_id)
        if tags is None or key_text not in tags:
            conn.execute("ROLLBACK")
            return None if tags is None else False
        del tags[key_text]
        _save(conn, request_id, tags)
        conn.execute(
            "DELETE FROM trace_tags WHERE request_id = ? AND key = ?", (request_id, key_text)
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True
