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
- Migration 3: a trace's root span lives in its ``traces`` row (``root_*`` columns, with
  ``name``, ``status``, ``request``, ``response``), the other spans in ``span_rows`` (the
  table ``spans`` was); ``spans`` is now a view of both, so a one-span trace is one row and
  reads (and older versions of this package, through its INSTEAD OF trigger) see one table.
- ``attachments`` (migration 4): bytes referenced from span inputs/outputs by
  ``mlflow-attachment://`` URIs (``tracing.attachments``).
- ``assessments`` (migration 2): MLflow 3's feedback and expectations, one row each; ``value``,
  ``error`` and ``metadata`` JSON, ``valid`` 0 once another feedback overrides the row.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from mlflow_trace_nb.keys import DEFAULT_EXPERIMENT_ID
from mlflow_trace_nb.store.faults import UnusableStoreError
from mlflow_trace_nb.store.rows import SPAN_COLUMNS, TRACE_WRITE_COLUMNS

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


def m002_assessments(conn: sqlite3.Connection) -> None:
    """Add the assessments table (feedback and expectations logged on traces)."""
    _execute_script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS assessments (
            assessment_id TEXT PRIMARY KEY,
            request_id TEXT NOT NULL,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            value TEXT,
            source_type TEXT NOT NULL,
            source_id TEXT,
            span_id TEXT,
            rationale TEXT,
            error TEXT,
            metadata TEXT,
            overrides TEXT,
            valid INTEGER NOT NULL DEFAULT 1,
            create_time_ms INTEGER NOT NULL,
            last_update_time_ms INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS assessments_request ON assessments (request_id);
        CREATE INDEX IF NOT EXISTS assessments_name ON assessments (name, kind);
        """,
    )


_ROOT_COLUMN_TYPES = (
    ("root_span_id", "TEXT"),
    ("root_span_type", "TEXT"),
    ("root_start_ns", "INTEGER"),
    ("root_end_ns", "INTEGER"),
    ("root_status_message", "TEXT"),
    ("root_attributes", "TEXT"),
    ("root_events", "TEXT"),
)
_SPAN_VIEW_COLUMNS = (
    "request_id, span_id, parent_id, name, span_type, start_time_ns, end_time_ns, "
    "status_code, status_message, inputs, outputs, attributes, events"
)


def m003_roots_in_trace_rows(conn: sqlite3.Connection) -> None:
    """Store each trace's root span in its ``traces`` row; ``spans`` becomes a view."""
    conn.execute("ALTER TABLE spans RENAME TO span_rows")
    for column, kind in _ROOT_COLUMN_TYPES:
        conn.execute(f"ALTER TABLE traces ADD COLUMN {column} {kind}")
    conn.execute(
        f"CREATE VIEW spans ({_SPAN_VIEW_COLUMNS}) AS "
        f"SELECT {_SPAN_VIEW_COLUMNS} FROM span_rows "
        "UNION ALL SELECT request_id, root_span_id, NULL, name, root_span_type, "
        "root_start_ns, root_end_ns, status, root_status_message, request, response, "
        "root_attributes, root_events FROM traces WHERE root_span_id IS NOT NULL"
    )
    new_values = ", ".join(f"NEW.{c.strip()}" for c in _SPAN_VIEW_COLUMNS.split(","))
    conn.execute(
        "CREATE TRIGGER spans_insert INSTEAD OF INSERT ON spans BEGIN "
        f"INSERT OR REPLACE INTO span_rows ({_SPAN_VIEW_COLUMNS}) VALUES ({new_values}); END"
    )


def m004_attachments(conn: sqlite3.Connection) -> None:
    """Add the attachments table (binary content referenced from span inputs/outputs)."""
    _execute_script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS attachments (
            attachment_id TEXT PRIMARY KEY,
            request_id TEXT NOT NULL,
            content_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            content BLOB NOT NULL,
            create_time_ms INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS attachments_request ON attachments (request_id);
        """,
    )


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the caller's transaction first; run statement by statement.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    m001_initial,
    m002_assessments,
    m003_roots_in_trace_rows,
    m004_attachments,
]


def _applied(conn: sqlite3.Connection) -> set[str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_ms INTEGER)"
    )
    return {row[0] for row in conn.execute("SELECT name FROM _migrations")}


#: Tables and columns this version reads and writes (what ``check_layout`` looks for).
LAYOUT: dict[str, tuple[str, ...]] = {
    "experiments": ("experiment_id", "name", "creation_time_ms"),
    "traces": TRACE_WRITE_COLUMNS,
    "span_rows": SPAN_COLUMNS,
    "trace_tags": ("request_id", "key", "value"),
    "trace_metadata": ("request_id", "key", "value"),
}


def pending(conn: sqlite3.Connection) -> bool:
    """True when some migration has not been applied (a plain read: no write lock taken).
    Raises ``UnusableStoreError`` for a database that is not a trace store (tables of its
    own and no migration record)."""
    try:
        done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    except sqlite3.OperationalError as error:
        if "no such table" not in str(error):
            raise
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%'"
            )
        ]
        # "_migrations" listed now: another process created the schema between the two
        # reads (they are separate snapshots), so ``migrate`` finds out under the write lock.
        if tables and "_migrations" not in tables:
            raise UnusableStoreError(
                f"not a trace store: it holds other tables ({', '.join(sorted(tables)[:5])})"
            ) from None
        return True
    return any(m.__name__ not in done for m in MIGRATIONS)


def check_layout(conn: sqlite3.Connection) -> None:
    """Raise ``UnusableStoreError`` unless every table and column in ``LAYOUT`` is there (a
    database a newer version changed, or another program's tables of the same names)."""
    for table, columns in LAYOUT.items():
        have = {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}
        missing = [c for c in columns if c not in have]
        if missing:
            what = "no table" if not have else f"no column {', '.join(missing[:3])} in table"
            raise UnusableStoreError(
                f"{what} {table}: made by another program or a newer mlflow-trace-nb"
            )


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
