"""Numbered schema migrations for the SQLite trace store.

Each migration is a tiny function ``mNNN_description(conn)``; ``migrate`` applies the ones a
database has not seen yet, in order, and records each in ``_migrations``. A database made by a
newer version of the package (one with migrations this code does not know) is left alone.

Schema overview:

- ``experiments``: id (INTEGER, shown to users as a string) and unique name.
- ``traces``: one row per trace, denormalised for fast DataFrames (``request``/``response`` are
  the root span's inputs/outputs as JSON, ``tags``/``request_metadata`` as JSON objects).
- ``trace_tags`` / ``trace_metadata``: the same key/value pairs, one row each, indexed so
  ``tags.k = 'v'`` filters use an index instead of scanning JSON.
- ``spans``: one row per span, keyed by (request_id, span_id) so a span that ends after its
  trace was written replaces its earlier row.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from mlflow_trace_nb.keys import DEFAULT_EXPERIMENT_ID

DEFAULT_EXPERIMENT_NAME = "Default"


def m001_initial(conn: sqlite3.Connection) -> None:
    """Create experiments, traces, spans and the key/value side tables."""
    _execute_script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS experiments (
            experiment_id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            creation_time_ms INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS traces (
            request_id TEXT PRIMARY KEY,
            experiment_id INTEGER NOT NULL,
            name TEXT,
            timestamp_ms INTEGER NOT NULL,
            execution_time_ms INTEGER,
            status TEXT NOT NULL,
            request TEXT,
            response TEXT,
            request_metadata TEXT NOT NULL DEFAULT '{}',
            tags TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX IF NOT EXISTS traces_experiment_time
            ON traces (experiment_id, timestamp_ms);
        CREATE TABLE IF NOT EXISTS trace_tags (
            request_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT,
            PRIMARY KEY (request_id, key)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS trace_tags_key_value ON trace_tags (key, value);
        CREATE TABLE IF NOT EXISTS trace_metadata (
            request_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT,
            PRIMARY KEY (request_id, key)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS trace_metadata_key_value ON trace_metadata (key, value);
        CREATE TABLE IF NOT EXISTS spans (
            request_id TEXT NOT NULL,
            span_id TEXT NOT NULL,
            parent_id TEXT,
            name TEXT NOT NULL,
            span_type TEXT,
            start_time_ns INTEGER NOT NULL,
            end_time_ns INTEGER,
            status_code TEXT NOT NULL,
            status_message TEXT NOT NULL DEFAULT '',
            inputs TEXT,
            outputs TEXT,
            attributes TEXT NOT NULL DEFAULT '{}',
            events TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (request_id, span_id)
        ) WITHOUT ROWID;
        """,
    )
    conn.execute(
        "INSERT OR IGNORE INTO experiments (experiment_id, name, creation_time_ms) "
        "VALUES (?, ?, ?)",
        (int(DEFAULT_EXPERIMENT_ID), DEFAULT_EXPERIMENT_NAME, int(time.time() * 1000)),
    )


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the caller's transaction first; run statement by statement.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [m001_initial]


def _applied(conn: sqlite3.Connection) -> set[str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_ms INTEGER)"
    )
    return {row[0] for row in conn.execute("SELECT name FROM _migrations")}


def pending(conn: sqlite3.Connection) -> bool:
    """True when some migration has not been applied (a plain read: no write lock taken)."""
    try:
        done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return True
        raise
    return any(m.__name__ not in done for m in MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations in one IMMEDIATE transaction; return the names applied.

    Safe to call from several processes at once: the write lock serialises them and the second
    one finds nothing left to do (every statement is also ``IF NOT EXISTS`` / ``OR IGNORE``).
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        done = _applied(conn)
        applied: list[str] = []
        for migration in MIGRATIONS:
            if migration.__name__ in done:
                continue
            migration(conn)
            conn.execute(
                "INSERT INTO _migrations (name, applied_ms) VALUES (?, ?)",
                (migration.__name__, int(time.time() * 1000)),
            )
            applied.append(migration.__name__)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return applied
