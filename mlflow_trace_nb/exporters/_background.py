"""A bounded send queue drained by one background thread, with batching, retry and backoff.

Remote exporters share this. ``put`` (called by the local writer thread) only snapshots
and appends: it never waits on the network, so a slow or dead remote never delays the
local store. The sender thread takes up to ``max_batch`` spans at a time, encodes them once
and sends them; when sending fails with a ``RetryableError`` (connection refused, timeout,
HTTP 429/5xx) it keeps the batch and retries with exponential backoff (``initial_backoff_s``
doubling up to ``max_backoff_s``, with jitter) until it goes through: nothing is lost while
the remote is down, as long as the queue has room. The queue is bounded in spans
(``max_queue``) and in bytes (``max_queue_bytes``, estimated by ``sizing``: a constant per
span plus payload lengths); what arrives when it is full is dropped and counted
(``dropped``), with one warning and a count at shutdown, so memory stays bounded whatever
happens remotely. A batch is at most ``max_batch`` spans and ``max_batch_bytes`` bytes. A
batch the remote rejects for good (HTTP 4xx) is counted in ``failed`` and logged.

``flush(timeout)`` waits until everything queued so far is sent (or the timeout passes);
``shutdown`` flushes with ``exit_timeout_s`` (or the timeout it is given) and stops the
thread (it runs at exit, see ``Runtime.shutdown``), reporting what was not delivered.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from mlflow_trace_nb._internal.fork_hooks import register_fork_hook
from mlflow_trace_nb._internal.sizing import estimate_spans
from mlflow_trace_nb._internal.text import as_text
from mlflow_trace_nb._internal.tracer.context import untraced_thread
from mlflow_trace_nb.exporters.otel_mapping import Entry, snapshot_items

__all__ = ["BackgroundSender", "PermanentError", "RetryableError"]

_logger = logging.getLogger("mlflow_trace_nb.exporters")
#: Longest error text kept and logged (a remote's answer ends up in it).
MAX_ERROR_CHARS = 500


def printable(error: BaseException) -> str:
    """An error's text as it may be shown: what a server sent in it (a status line, the
    start of a body) is untrusted, so control characters (terminal escape sequences, bells,
    new lines) are escaped and the text is cut to ``MAX_ERROR_CHARS``."""
    text = as_text(error)[: MAX_ERROR_CHARS * 4]
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "…"


class RetryableError(Exception):
    """The remote is unreachable or busy: try the same batch again later."""


class PermanentError(Exception):
    """The remote rejected the batch: retrying would not help."""


class BackgroundSender:
    """Queue of trace snapshots (bounded in spans and bytes) and the thread that sends them.

    ``encode(entries)`` turns a batch into a payload (called once per batch, on the sender
    thread); ``send(payload)`` delivers it, raising ``RetryableError`` or
    ``PermanentError``; ``after_send(entries)`` (optional) runs after a successful send.
    """

    def __init__(
        self,
        name: str,
        encode: Callable[[list[Entry]], Any],
        send: Callable[[Any], None],
        *,
        after_send: Callable[[list[Entry]], None] | None = None,
        max_queue: int = 20_000,
        max_queue_bytes: int = 32 * 2**20,
        max_batch: int = 512,
        max_batch_bytes: int = 4 * 2**20,
        interval_s: float = 0.5,
        initial_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        exit_timeout_s: float = 5.0,
    ) -> None:
        self.name = name
        self._encode = encode
        self._send = send
        self._after_send = after_send
        self.max_queue = max_queue
        self.max_queue_bytes = max_queue_bytes
        self.max_batch = max_batch
        self.max_batch_bytes = max_batch_bytes
        self.interval_s = interval_s
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.exit_timeout_s = exit_timeout_s
        self._entries: deque[tuple[Entry, int]] = deque()  # with each entry's bytes
        self._queued_spans = 0  # spans in _entries plus the batch in flight (or held)
        self._queued_bytes = 0  # their estimated bytes
        self._held: tuple[list[Entry], Any, int] | None = None  # kept by a shutdown
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._stop = threading.Event()  # interrupts a retry backoff
        self._thread: threading.Thread | None = None
        self._generation = 0  # bumped by shutdown: a thread of an older generation exits
        self.sent = 0  # spans delivered
        self.dropped = 0  # spans dropped because the queue was full
        self.failed = 0  # spans the remote rejected for good
        self.retries = 0  # failed attempts that were retried
        self.last_error: str | None = None
        register_fork_hook(self._after_fork)  # weakly held: a retired sender can go

    # Producer side (local writer thread) ---------------------------------------------------
    def put(self, items: Sequence[Any]) -> None:
        """Snapshot ``items`` (traces / late spans) and queue them; drop what does not fit."""
        entries = snapshot_items(items)
        if not entries:
            return
        dropped = 0
        sized = [(entry, estimate_spans(entry[1])) for entry in entries]  # outside the lock
        with self._lock:
            for entry, nbytes in sized:
                size = len(entry[1])
                if (
                    self._queued_spans + size > self.max_queue
                    or self._queued_bytes + nbytes > self.max_queue_bytes
                ):
                    dropped += size
                    continue
                self._entries.append((entry, nbytes))
                self._queued_spans += size
                self._queued_bytes += nbytes
        if dropped:
            self._count_drops(dropped)
        if self._thread is None or not self._thread.is_alive():
            self._start()
        if self._queued_spans >= self.max_batch:
            self._wake.set()

    def pending(self) -> int:
        """Spans queued or being sent."""
        return self._queued_spans

    def pending_bytes(self) -> int:
        """Estimated bytes of the spans queued or being sent."""
        return self._queued_bytes

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every span queued so far has been sent (or dropped); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            target = self.sent + self.failed + self._queued_spans
        self._wake.set()
        if (self._entries or self._held) and (self._thread is None or not self._thread.is_alive()):
            try:
                self._start()  # e.g. entries kept by a shutdown while the remote was down
            except RuntimeError:  # no new threads at interpreter shutdown
                return False
        with self._changed:
            while self.sent + self.failed < target and self._queued_spans:
                thread = self._thread
                if thread is None or not thread.is_alive():
                    return False
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._changed.wait(0.1 if remaining is None else min(remaining, 0.1))
                self._wake.set()
        return True

    def shutdown(self, timeout: float | None = None) -> None:
        """Flush (at most ``exit_timeout_s``) and stop the thread; report what was lost."""
        self.flush(self.exit_timeout_s if timeout is None else timeout)
        with self._lock:
            self._generation += 1
            thread, self._thread = self._thread, None
        self._wake.set()
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(0.05)  # a daemon: a request still in flight ends on its own deadline
        self._stop = threading.Event()
        lost = self._queued_spans
        if thread is not None and (lost or self.dropped):
            _logger.warning(
                "mlflow-trace-nb: %s: %d spans not delivered at shutdown, %d dropped "
                "(queue full) during the session; last error: %s",
                self.name,
                lost,
                self.dropped,
                self.last_error,
            )

    def stats(self) -> dict[str, int]:
        """Counters: sent, queued, dropped, failed, retries."""
        return {
            "sent": self.sent,
            "queued": self._queued_spans,
            "dropped": self.dropped,
            "failed": self.failed,
            "retries": self.retries,
        }

    # Sender thread ------------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            thread = threading.Thread(
                target=self._run,
                args=(self._generation,),
                name=f"mlflow-trace-nb-{self.name}",
                daemon=True,
            )
            thread.start()
            self._thread = thread

    def _take_batch(self) -> tuple[list[Entry], int]:
        """Up to ``max_batch`` spans and ``max_batch_bytes`` bytes (at least one entry)."""
        batch: list[Entry] = []
        spans = nbytes = 0
        with self._lock:
            entries = self._entries
            while entries:
                entry, size = entries[0]
                if batch and (
                    spans + len(entry[1]) > self.max_batch or nbytes + size > self.max_batch_bytes
                ):
                    break
                entries.popleft()
                batch.append(entry)
                spans += len(entry[1])
                nbytes += size
        return batch, nbytes

    def _run(self, generation: int) -> None:
        untraced_thread()
        while generation == self._generation:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            while (self._held or self._entries) and generation == self._generation:
                held, self._held = self._held, None
                if held is not None:
                    self._deliver(held[0], held[2], generation, held[1])
                    continue
                batch, nbytes = self._take_batch()
                if batch:
                    self._deliver(batch, nbytes, generation)

    def _deliver(
        self, batch: list[Entry], nbytes: int, generation: int, payload: Any = None
    ) -> None:
        size = sum(len(spans) for _, spans in batch)
        outcome = "sent"
        try:
            if payload is None:
                payload = self._encode(batch)
        except Exception as error:  # a span we cannot encode: never retry it
            outcome = "failed"
            self._note_failure(error, size, permanent=True)
        else:
            outcome = self._send_with_retry(payload, size, generation)
        if outcome == "sent" and self._after_send is not None:
            try:
                self._after_send(batch)
            except Exception:
                _logger.debug(
                    "mlflow-trace-nb: %s: after-send step failed", self.name, exc_info=True
                )
        with self._changed:
            if outcome == "requeue":  # shut down while retrying: keep it for a restart
                self._held = (batch, payload, nbytes)
                self._changed.notify_all()
                return
            self._queued_spans -= size
            self._queued_bytes -= nbytes
            if outcome == "sent":
                self.sent += size
            elif outcome == "failed":
                self.failed += size
            self._changed.notify_all()

    def _send_with_retry(self, payload: Any, size: int, generation: int) -> str:
        backoff = self.initial_backoff_s
        while True:
            try:
                self._send(payload)
                self.last_error = None
                return "sent"
            except RetryableError as error:
                self.retries += 1
                self.last_error = printable(error)
                if self.retries == 1 or self.retries % 100 == 0:
                    _logger.warning(
                        "mlflow-trace-nb: %s unreachable (%s); retrying in the background",
                        self.name,
                        self.last_error,
                    )
                if generation != self._generation:
                    return "requeue"
                # jitter, so many processes do not retry in lockstep; shutdown wakes us
                self._stop.wait(backoff * (0.5 + random.random() / 2))
                if generation != self._generation:
                    return "requeue"
                backoff = min(backoff * 2, self.max_backoff_s)
            except Exception as error:
                self._note_failure(error, size, permanent=True)
                return "failed"

    def _note_failure(self, error: BaseException, size: int, permanent: bool) -> None:
        self.last_error = printable(error)
        _logger.warning(
            "mlflow-trace-nb: %s rejected %d spans (%s)%s",
            self.name,
            size,
            self.last_error,
            "" if permanent else "; will retry",
        )

    def _count_drops(self, count: int) -> None:
        first = self.dropped == 0
        self.dropped += count
        (_logger.warning if first else _logger.debug)(
            "mlflow-trace-nb: %s: send queue full (bounds: %d spans, %d bytes); dropped %d "
            "spans (%d so far)",
            self.name,
            self.max_queue,
            self.max_queue_bytes,
            count,
            self.dropped,
        )

    def _after_fork(self) -> None:
        # The child does not inherit the thread; the parent sends what it had queued.
        self._entries = deque()
        self._held = None
        self._queued_spans = 0
        self._queued_bytes = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._thread = None
