"""Recovery steps for a damaged trace file, and the thread that retries a waiting backlog.

A damaged file (``faults.CORRUPT``) is first confirmed with ``PRAGMA quick_check`` on a fresh
connection (so a fault of one connection is not taken for damage), then renamed to
``<name>.corrupt-<UTC time>`` with its ``-wal`` file beside it (``<name>.corrupt-<time>-wal``,
so SQLite pairs them if the copy is opened for recovery, e.g. ``sqlite3 file .recover``); the
``-shm`` index is removed. The store then creates a new file at the original path. The rename
only happens if the path still holds the very file found damaged: when several processes
find the same damage, the first moves it and the others follow it to the new file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable

from mlflow_trace_nb._internal.tracer.context import untraced_thread
from mlflow_trace_nb.store.connection import FileIdentity, file_identity
from mlflow_trace_nb.store.faults import CORRUPT, classify, describe

__all__ = ["RetryThread", "confirm_damaged", "move_aside"]


def confirm_damaged(path: str) -> str | None:
    """A description of the damage if ``path`` really is damaged, else None."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=5)
    except sqlite3.Error:
        return None
    try:
        rows = conn.execute("PRAGMA quick_check(5)").fetchall()
    except sqlite3.Error as error:
        return describe(error) if classify(error) == CORRUPT else None
    finally:
        conn.close()
    problems = [str(r[0]) for r in rows if str(r[0]).lower() != "ok"]
    return "; ".join(problems)[:500] if problems else None


def move_aside(path: str, expected: FileIdentity | None) -> str | None:
    """Rename the damaged file at ``path`` (if it is still ``expected``); return the new name.

    Returns None when the path holds another file by now (someone moved it already).
    Raises OSError when the rename itself fails.
    """
    if expected is not None and file_identity(path) != expected:
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = f"{path}.corrupt-{stamp}"
    n = 1
    while os.path.exists(target):
        n += 1
        target = f"{path}.corrupt-{stamp}-{n}"
    os.rename(path, target)
    if os.path.exists(path + "-wal"):
        with contextlib.suppress(OSError):
            os.rename(path + "-wal", target + "-wal")
    with contextlib.suppress(OSError):
        os.unlink(path + "-shm")
    return target


class RetryThread:
    """A daemon thread calling ``attempt()`` at the times ``due()`` says, while it returns
    True (work left); it ends when there is nothing left or ``stop()`` is called."""

    def __init__(self, attempt: Callable[[], bool], due: Callable[[], float]) -> None:
        self._attempt = attempt
        self._due = due
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="mlflow-trace-nb-store-retry", daemon=True
        )
        self._thread.start()

    def alive(self) -> bool:
        """True while the thread runs."""
        return self._thread.is_alive() and not self._stop.is_set()

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the thread to end and wait for it (at most ``timeout`` seconds)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        untraced_thread()
        while not self._stop.is_set():
            wait = self._due() - time.monotonic()
            if wait > 0 and self._stop.wait(min(wait, 5.0)):
                return
            if wait > 5.0:
                continue
            try:
                if not self._attempt():
                    return
            except Exception:  # the store reports its own errors; never let the thread die loud
                self._stop.wait(1.0)
