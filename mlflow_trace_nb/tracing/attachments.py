"""Binary attachments (images, audio, PDFs...) in span inputs and outputs, as MLflow 3 has them.

``span.set_inputs({"image": Attachment.from_file("cat.png")})`` stores the bytes in the
local trace store (its ``attachments`` table) and records, in the span, a reference of
MLflow's form ``mlflow-attachment://<id>?content_type=...&trace_id=...&size=...`` (JSON text,
like any other value). ``Attachment.from_ref(ref)`` reads the bytes back. Attachments found
anywhere in a value set with ``set_inputs``/``set_outputs`` (nested in dicts, lists and
tuples) are replaced; one larger than ``MAX_ATTACHMENT_BYTES`` is not stored (the span gets a
note instead, as MLflow does over its size limit). Storing never raises into the traced code:
a store that cannot take it logs a warning and the reference is kept.
"""

from __future__ import annotations

import logging
import mimetypes
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from mlflow_trace_nb._internal.serialization import fix_surrogates

__all__ = ["MAX_ATTACHMENT_BYTES", "Attachment", "extract_attachments"]

_logger = logging.getLogger("mlflow_trace_nb")

#: Largest attachment stored (bytes); a larger one is replaced by a note.
MAX_ATTACHMENT_BYTES = 100 * 2**20
_SCHEME = "mlflow-attachment"
_MAX_DEPTH = 20  # nesting searched for attachments in a value
#: Set when the first Attachment is made: until then ``set_inputs`` skips the search.
IN_USE = False


class Attachment:
    """Binary content with its MIME type, to put in span inputs or outputs."""

    def __init__(self, *, content_type: str, content_bytes: bytes) -> None:
        global IN_USE
        if not isinstance(content_type, str) or not content_type:
            raise TypeError(f"content_type must be a non-empty string, got {content_type!r:.80}")
        if not isinstance(content_bytes, (bytes, bytearray, memoryview)):
            raise TypeError(f"content_bytes must be bytes, got {type(content_bytes).__name__}")
        self._id = str(uuid.uuid4())
        # lone surrogates (an os.fsdecode'd name...) become U+FFFD: the reference stays a URI
        self._content_type = fix_surrogates(content_type)
        self._content_bytes = bytes(content_bytes)
        IN_USE = True

    @classmethod
    def from_file(cls, path: str | Path, content_type: str | None = None) -> Attachment:
        """The content of the file at ``path``; the type guessed from its name if not given."""
        file = Path(path)
        if content_type is None:
            content_type = mimetypes.guess_type(str(file))[0] or "application/octet-stream"
        return cls(content_type=content_type, content_bytes=file.read_bytes())

    @classmethod
    def from_ref(cls, ref: str) -> Attachment:
        """The attachment a reference (as recorded in a span) names, read from the trace
        store; ValueError for a malformed reference, MlflowException (RESOURCE_DOES_NOT_EXIST)
        when the store does not hold it."""
        from mlflow_trace_nb._internal.runtime import RUNTIME
        from mlflow_trace_nb.errors import MlflowException

        parsed = cls.parse_ref(ref) if isinstance(ref, str) else None
        if parsed is None:
            raise ValueError(f"not an attachment reference: {ref!r:.200}")
        found = RUNTIME.store.get_attachment(str(parsed["trace_id"]), str(parsed["attachment_id"]))
        if found is None:
            raise MlflowException(
                f"Attachment {parsed['attachment_id']} of trace {parsed['trace_id']} is not in "
                f"the trace store {RUNTIME.store.path}",
                "RESOURCE_DOES_NOT_EXIST",
            )
        attachment = cls(content_type=found[0], content_bytes=found[1])
        attachment._id = str(parsed["attachment_id"])
        return attachment

    @property
    def id(self) -> str:
        return self._id

    @property
    def content_type(self) -> str:
        return self._content_type

    @property
    def content_bytes(self) -> bytes:
        return self._content_bytes

    def ref(self, trace_id: str) -> str:
        """The reference recorded in the span: MLflow's ``mlflow-attachment://`` URI."""
        query = urlencode(
            {
                "content_type": self._content_type,
                "trace_id": trace_id,
                "size": str(len(self._content_bytes)),
            }
        )
        return f"{_SCHEME}://{self._id}?{query}"

    @staticmethod
    def parse_ref(ref_uri: str) -> dict[str, str | int | None] | None:
        """``attachment_id``, ``content_type``, ``trace_id`` and ``size`` (None if absent
        or not a positive number) of a reference; None if it is not one."""
        try:
            parsed = urlparse(ref_uri)
        except (TypeError, ValueError):
            return None
        if parsed.scheme != _SCHEME:
            return None
        params = parse_qs(parsed.query)
        attachment_id = parsed.hostname
        content_type = params.get("content_type", [None])[0]
        trace_id = params.get("trace_id", [None])[0]
        if not attachment_id or not content_type or not trace_id:
            return None
        size_text = params.get("size", [None])[0]
        size = int(size_text) if size_text and size_text.isdigit() else None
        return {
            "attachment_id": attachment_id,
            "content_type": content_type,
            "trace_id": trace_id,
            "size": size if size else None,
        }

    def __repr__(self) -> str:
        return (
            f"Attachment(id={self._id!r}, content_type={self._content_type!r}, "
            f"size={len(self._content_bytes)})"
        )


def extract_attachments(value: Any, request_id: str) -> Any:
    """``value`` with every ``Attachment`` in it stored and replaced by its reference
    (containers are copied where one is found; others are returned as they are). Never
    raises: on an internal failure the value is kept as given (logged once)."""
    try:
        return _extract(value, request_id, 0)
    except Exception:
        from mlflow_trace_nb.errors import report_internal_error

        report_internal_error("storing attachments")
        return value


def _extract(value: Any, request_id: str, depth: int) -> Any:
    if type(value) is Attachment or isinstance(value, Attachment):
        return _store(value, request_id)
    if depth >= _MAX_DEPTH:
        return value
    if type(value) is dict:
        out = {k: _extract(v, request_id, depth + 1) for k, v in value.items()}
        return out if any(out[k] is not value[k] for k in out) else value
    if type(value) in (list, tuple):
        items = [_extract(v, request_id, depth + 1) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value


def _store(attachment: Attachment, request_id: str) -> str:
    from mlflow_trace_nb._internal.runtime import RUNTIME

    size = len(attachment.content_bytes)
    if size > MAX_ATTACHMENT_BYTES:
        _logger.warning(
            "mlflow-trace-nb: attachment too large (%d bytes > %d); content discarded",
            size,
            MAX_ATTACHMENT_BYTES,
        )
        return f"[Attachment too large: {size} bytes exceeds {MAX_ATTACHMENT_BYTES} bytes limit]"
    store = RUNTIME.store
    if store not in RUNTIME.exporters:
        _logger.warning(
            "mlflow-trace-nb: attachment %s not stored: no local trace store among the "
            "destinations (set_destination)",
            attachment.id,
        )
    else:
        try:
            store.put_attachment(
                request_id, attachment.id, attachment.content_type, attachment.content_bytes
            )
        except Exception as error:  # never into the traced code
            _logger.warning(
                "mlflow-trace-nb: could not store attachment %s: %s", attachment.id, error
            )
    return attachment.ref(request_id)
