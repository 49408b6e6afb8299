"""Attachment bytes (``tracing.attachments``) in the SQLite store's ``attachments`` table
(migration ``m004_attachments``), keyed by trace and attachment id. Written from the user's
thread (``set_inputs``/``set_outputs``), one transaction each, under the writer's lock."""

from __future__ import annotations

import sqlite3
import time

from mlflow_trace_nb.store.handles import StoreHandles, read_retrying
from mlflow_trace_nb.store.limits import MAX_KEY_CHARS, MAX_NAME_CHARS, clean_text

__all__ = ["AttachmentStore"]


class AttachmentStore(StoreHandles):
    """Attachment storage (a base of ``SqliteStore``)."""

    def put_attachment(
        self, request_id: str, attachment_id: str, content_type: str, content: bytes
    ) -> None:
        """Store (or replace) one attachment's bytes."""
        row = (
            clean_text(attachment_id, MAX_KEY_CHARS),
            clean_text(request_id, MAX_KEY_CHARS),
            clean_text(content_type, MAX_NAME_CHARS),
            len(content),
            sqlite3.Binary(content),
            int(time.time() * 1000),
        )

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO attachments (attachment_id, request_id, content_type, "
                "size, content, create_time_ms) VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )

        self._write_for_user(work, "attachment")

    @read_retrying
    def get_attachment(self, request_id: str, attachment_id: str) -> tuple[str, bytes] | None:
        """``(content_type, bytes)`` of an attachment of the trace, or None."""
        with self._reading() as conn:
            found = conn.execute(
                "SELECT content_type, content FROM attachments "
                "WHERE attachment_id = ? AND request_id = ?",
                (attachment_id, request_id),
            ).fetchone()
        return None if found is None else (str(found[0]), bytes(found[1]))
