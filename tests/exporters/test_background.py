"""The remote exporters' send queue: batching, retry with backoff, bound, drops, flush."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.exporters._background import BackgroundSender, PermanentError, RetryableError
from mlflow_trace_nb.exporters.otel_mapping import Entry


def _traces(count: int, children: int = 0) -> list[Any]:
    """``count`` finished traces (``LiveTrace``), each with ``children`` child spans."""
    items: list[Any] = []

    class Collector:
        def export(self, batch: list[Any]) -> None:
            items.extend(batch)

        def shutdown(self) -> None:
            pass

    mlflow.set_destination(["memory", Collector()])
    for i in range(count):
        with mlflow.start_span(f"root-{i}"):
            for j in range(children):
                with mlflow.start_span(f"child-{j}"):
                    pass
    mlflow.flush()
    mlflow.set_destination("memory")
    return items


class Remote:
    """A stand-in remote endpoint: records payloads; can be down, or hang until released."""

    def __init__(self) -> None:
        self.payloads: list[list[str]] = []
        self.down_for = 0  # fail this many attempts with a retryable error
        self.reject = False
        self.gate = threading.Event()
        self.gate.set()
        self.attempts = 0

    def encode(self, entries: list[Entry]) -> list[str]:
        return [span.name for _, spans in entries for span in spans]

    def send(self, payload: list[str]) -> None:
        self.attempts += 1
        self.gate.wait(30)
        if self.down_for:
            self.down_for -= 1
            raise RetryableError("connection refused")
        if self.reject:
            raise PermanentError("HTTP 400")
        self.payloads.append(payload)

    @property
    def received(self) -> list[str]:
        return [name for payload in self.payloads for name in payload]


def _sender(remote: Remote, **options: Any) -> BackgroundSender:
    defaults: dict[str, Any] = {"interval_s": 0.01, "initial_backoff_s": 0.01}
    return BackgroundSender("test", remote.encode, remote.send, **{**defaults, **options})


def test_batches_are_bounded_and_everything_arrives() -> None:
    remote = Remote()
    sender = _sender(remote, max_batch=10)
    sender.put(_traces(25, children=1))  # 50 spans
    assert sender.flush(10)
    assert len(remote.received) == 50
    assert all(len(p) <= 10 for p in remote.payloads) and len(remote.payloads) >= 5
    assert sender.stats() == {"sent": 50, "queued": 0, "dropped": 0, "failed": 0, "retries": 0}
    sender.shutdown()


def test_a_down_remote_is_retried_with_backoff_and_nothing_is_lost() -> None:
    remote = Remote()
    remote.down_for = 4
    sender = _sender(remote)
    sender.put(_traces(10))
    assert sender.flush(20)
    assert sorted(remote.received) == sorted(f"root-{i}" for i in range(10))
    assert sender.retries == 4 and sender.sent == 10 and sender.dropped == 0
    sender.shutdown()


def test_a_full_queue_drops_and_counts_instead_of_growing() -> None:
    remote = Remote()
    remote.gate.clear()  # the remote hangs: nothing leaves the queue
    sender = _sender(remote, max_queue=30, max_batch=5)
    items = _traces(100)
    for item in items:
        sender.put([item])
        assert sender.pending() <= 30
    assert sender.dropped == 70
    assert not sender.flush(0.2)  # still stuck: flush gives up, does not hang
    remote.gate.set()
    assert sender.flush(10)
    assert sender.sent == 30 and len(remote.received) == 30
    sender.shutdown()


def test_rejected_batches_are_counted_and_the_queue_moves_on() -> None:
    remote = Remote()
    remote.reject = True
    sender = _sender(remote, max_batch=3)
    sender.put(_traces(6))
    assert sender.flush(10)
    assert sender.failed == 6 and sender.sent == 0
    remote.reject = False
    sender.put(_traces(2))
    assert sender.flush(10)
    assert sender.sent == 2
    sender.shutdown()


def test_a_batch_that_cannot_be_encoded_is_counted_not_retried() -> None:
    def encode(entries: list[Entry]) -> Any:
        raise TypeError("cannot encode")

    sent: list[Any] = []
    sender = BackgroundSender("test", encode, sent.append, interval_s=0.01)
    sender.put(_traces(3))
    assert sender.flush(10)
    assert sender.failed == 3 and not sent
    sender.shutdown()


def test_shutdown_while_down_keeps_the_batch_for_a_restart(
    caplog: pytest.LogCaptureFixture,
) -> None:
    remote = Remote()
    remote.down_for = 10**9
    sender = _sender(remote, initial_backoff_s=0.05, max_backoff_s=0.05)
    sender.put(_traces(4))
    sender.shutdown(timeout=0.3)  # bounded: gives up after the timeout
    assert sender.pending() == 4 and sender.sent == 0
    assert "not delivered at shutdown" in caplog.text
    remote.down_for = 0
    sender.put(_traces(1))  # a new put restarts the thread; the kept batch goes first
    assert sender.flush(10)
    assert sender.sent == 5 and remote.received[:4] == [f"root-{i}" for i in range(4)]
    sender.shutdown()


def test_error_text_from_a_server_is_escaped_and_capped() -> None:
    """A server's status line or body ends up in errors that are logged and kept in
    ``last_error``: terminal escapes, bells and new lines are shown escaped, never sent to
    the user's terminal, and the text is capped."""
    from mlflow_trace_nb.exporters._background import MAX_ERROR_CHARS, printable

    hostile = ValueError("\x1b]0;owned\x07\x1b[31mFAKE\x1b[0m\nnext line" + "Z" * 60_000)
    text = printable(hostile)
    assert "\x1b" not in text and "\x07" not in text and "\n" not in text
    assert text.startswith("\\x1b]0;owned\\x07") and len(text) <= MAX_ERROR_CHARS + 1
    assert printable(ValueError("plain é text")) == "plain é text"
