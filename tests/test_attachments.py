"""Attachments in span inputs/outputs (``tracing.attachments``): bytes in the SQLite file,
MLflow's reference format, errors that never reach the traced code."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.errors import MlflowException
from mlflow_trace_nb.tracing import attachments
from mlflow_trace_nb.tracing.attachments import Attachment


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "t.db"
    mlflow.set_destination(f"sqlite:///{path}")
    return path


def test_attachments_are_stored_and_read_back_by_reference(db: Path, tmp_path: Path) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(5000))
    pdf = Attachment(content_type="application/pdf", content_bytes=b"%PDF-1.4 ...")
    with mlflow.start_span("look") as span:
        span.set_inputs({"image": Attachment.from_file(image), "pages": [pdf, "text"], "n": 3})
        span.set_outputs(Attachment(content_type="text/markdown", content_bytes=b"# Report"))
    trace = mlflow.get_trace(span.trace_id)
    assert trace is not None
    stored = trace.data.spans[0]
    assert stored.inputs["n"] == 3 and stored.inputs["pages"][1] == "text"
    image_ref = stored.inputs["image"]
    assert image_ref.startswith("mlflow-attachment://")
    parsed = Attachment.parse_ref(image_ref)
    assert parsed is not None
    assert parsed["content_type"] == "image/png"
    assert parsed["trace_id"] == span.trace_id
    assert parsed["size"] == 5008
    back = Attachment.from_ref(image_ref)
    assert back.content_bytes == image.read_bytes() and back.content_type == "image/png"
    assert back.id == parsed["attachment_id"]
    assert Attachment.from_ref(stored.inputs["pages"][0]).content_bytes == b"%PDF-1.4 ..."
    assert Attachment.from_ref(stored.outputs).content_bytes == b"# Report"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*), sum(size) FROM attachments").fetchone() == (
        3,
        5008 + 12 + 8,
    )
    conn.close()


def test_references_are_mlflows(db: Path) -> None:
    from mlflow.tracing.attachments import Attachment as MlflowAttachment

    ours = Attachment(content_type="audio/wav", content_bytes=b"RIFF....")
    theirs = MlflowAttachment(content_type="audio/wav", content_bytes=b"RIFF....")
    our_ref, their_ref = ours.ref("tr-abc"), theirs.ref("tr-abc")
    assert MlflowAttachment.parse_ref(our_ref) == Attachment.parse_ref(our_ref)
    assert Attachment.parse_ref(their_ref) == MlflowAttachment.parse_ref(their_ref)
    assert our_ref.replace(ours.id, "ID") == their_ref.replace(theirs.id, "ID")


def test_bad_references_and_missing_content(db: Path) -> None:
    for ref in ["http://x", "mlflow-attachment://id", "", "mlflow-attachment://?trace_id=t"]:
        assert Attachment.parse_ref(ref) is None
        with pytest.raises(ValueError, match="not an attachment reference"):
            Attachment.from_ref(ref)
    with pytest.raises(ValueError):
        Attachment.from_ref(123)  # type: ignore[arg-type]
    ghost = Attachment(content_type="image/png", content_bytes=b"x").ref("tr-none")
    with pytest.raises(MlflowException, match="not in the trace store") as info:
        Attachment.from_ref(ghost)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(TypeError):
        Attachment(content_type="", content_bytes=b"x")
    with pytest.raises(TypeError):
        Attachment(content_type="text/plain", content_bytes="not bytes")  # type: ignore[arg-type]


def test_too_large_is_a_note_and_an_ended_span_ignores_attachments(
    db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(attachments, "MAX_ATTACHMENT_BYTES", 10)
    with (
        caplog.at_level(logging.WARNING, logger="mlflow_trace_nb"),
        mlflow.start_span("big") as span,
    ):
        span.set_inputs({"blob": Attachment(content_type="a/b", content_bytes=b"x" * 11)})
    assert "too large" in caplog.text
    trace = mlflow.get_trace(span.trace_id)
    assert trace is not None
    assert trace.data.spans[0].inputs["blob"].startswith("[Attachment too large: 11 bytes")
    span.set_outputs(Attachment(content_type="a/b", content_bytes=b"x"))  # ended: ignored
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM attachments").fetchone() == (0,)
    conn.close()


def test_a_store_that_cannot_take_it_warns_and_the_code_goes_on(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with mlflow.start_span("first"):
        pass
    mlflow.flush()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TABLE attachments")  # a damaged schema: every insert fails
    conn.close()
    with (
        caplog.at_level(logging.WARNING, logger="mlflow_trace_nb"),
        mlflow.start_span("second") as span,
    ):
        span.set_inputs([Attachment(content_type="text/plain", content_bytes=b"hi")])
        span.set_outputs("done")
    assert "could not store attachment" in caplog.text
    trace = mlflow.get_trace(span.trace_id)
    assert trace is not None and trace.data.spans[0].outputs == "done"
    assert trace.data.spans[0].inputs[0].startswith("mlflow-attachment://")


def test_odd_content_types_never_reach_the_traced_code(db: Path) -> None:
    """A lone surrogate in the content type (an ``os.fsdecode``'d name) is replaced, so the
    reference stays a URI and ``set_inputs`` does not raise."""
    with mlflow.start_span("odd") as span:
        span.set_inputs({"f": Attachment(content_type="image/\udcffpng", content_bytes=b"\x00")})
    trace = mlflow.get_trace(span.trace_id)
    assert trace is not None
    back = Attachment.from_ref(trace.data.spans[0].inputs["f"])
    assert back.content_type == "image/\ufffdpng" and back.content_bytes == b"\x00"
