"""A full disk, an I/O error, a read-only remount: traces wait, then are written; reads go on.

Real faults only: a file-size limit (``RLIMIT_FSIZE``, so writes fail with ``EFBIG``, which
SQLite reports as an I/O error) in a child process, and, where this user may mount, a small
tmpfs filled up (``ENOSPC``: ``SQLITE_FULL``) and remounted read-only.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.runtime import RUNTIME
from tests.faults.store_helpers import rows, run_python

FSIZE_CHILD = """
    import json, os, resource, signal
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, not kills
    import mlflow_trace_nb as mlflow
    from mlflow_trace_nb._internal.runtime import RUNTIME

    @mlflow.trace
    def step(i, text):
        return len(text)

    def traced(n, start, size):
        for i in range(start, start + n):
            step(i, "z" * size)

    db = RUNTIME.store.path
    out = {}
    traced(20, 0, 10)
    out["flushed_before"] = mlflow.flush()
    on_disk = max(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (on_disk + 8192, hard))  # the disk is "full"
    traced(30, 20, 50_000)
    out["flushed_during"] = mlflow.flush()
    health = RUNTIME.store.health()
    out["state_during"] = health.state
    out["pending_during"] = health.pending_spans
    out["error_during"] = health.last_error
    out["read_during"] = len(mlflow.search_traces(max_results=1000))
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # space is back
    traced(10, 50, 10)
    out["flushed_after"] = mlflow.flush()
    health = RUNTIME.store.health()
    out["state_after"] = health.state
    out["dropped"] = health.dropped_spans
    out["read_after"] = len(mlflow.search_traces(max_results=1000))
    print(json.dumps(out), flush=True)
    if os.environ.get("FAULT_AT_EXIT"):  # a fault that outlives the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (on_disk, hard))
        traced(5, 100, 50_000)
"""


def test_file_size_limit_then_space_returns_nothing_lost(tmp_path: Path) -> None:
    """Then a fault that outlives the process: what waits is counted in a warning at exit."""
    db = tmp_path / "fsize.db"
    child = run_python(FSIZE_CHILD, db, FAULT_AT_EXIT="1")
    out, err = child.communicate(timeout=90)
    assert child.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["flushed_before"] is True
    assert result["flushed_during"] is False  # waiting, not lost
    assert result["state_during"] == "retrying" and result["pending_during"] >= 1
    assert result["error_during"]
    assert result["read_during"] == 20  # reads still show what is on disk
    assert result["flushed_after"] is True and result["state_after"] == "ok"
    assert result["dropped"] == 0 and result["read_after"] == 60
    assert rows(db, "SELECT count(*) FROM traces") == [(60,)]
    assert "cannot write to the trace store" in err and "works again" in err
    assert "could not write 5 spans" in err and "before exit" in err
    assert "internal error" not in err and "Traceback" not in err


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (skipped where this user may not mount one)."""
    where = tmp_path / "small"
    where.mkdir()
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)):
        pytest.skip("cannot mount a tmpfs here (RLIMIT_FSIZE tests cover the full disk)")
    try:
        yield where
    finally:
        mlflow.set_destination("memory")
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_full_tmpfs_then_space_returns_and_read_only_remount(tmpfs: Path) -> None:
    db = tmpfs / "t.db"
    mlflow.set_destination(f"sqlite:///{db}")
    store = RUNTIME.store

    @mlflow.trace
    def step(i: int, text: str) -> int:
        return len(text)

    for i in range(10):
        step(i, "")
    assert mlflow.flush(10)
    ballast = tmpfs / "ballast"
    with contextlib.suppress(OSError), open(ballast, "wb") as f:  # fill the disk
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    for i in range(10, 30):
        step(i, "y" * 20_000)
    assert not mlflow.flush(10)
    health = store.health()
    assert health.state == "retrying" and health.pending_spans > 0
    assert "full" in (health.last_error or "").lower()
    assert len(mlflow.search_traces(max_results=100)) == 10
    ballast.unlink()  # space returns
    step(30, "")
    assert mlflow.flush(10)
    assert store.health().state == "ok"
    assert len(mlflow.search_traces(max_results=100)) == 31

    store.close()  # a remount needs no file open for writing
    assert _mount("-o", "remount,ro", str(tmpfs))
    try:
        step(31, "")
        assert not mlflow.flush(10)
        assert store.health().pending_spans == 1
        assert len(mlflow.search_traces(max_results=100)) == 31
    finally:
        assert _mount("-o", "remount,rw", str(tmpfs))
    step(32, "")
    assert mlflow.flush(10)
    assert len(mlflow.search_traces(max_results=100)) == 33
    assert store.health().dropped_spans == 0
