"""A notebook cell ends promptly while a remote destination hangs (real InteractiveShell)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.displaypub import CapturingDisplayPublisher
from IPython.core.interactiveshell import InteractiveShell

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.display.cell_flush import _flush_after_cell, register_cell_flush
from tests.faults import remote_servers as servers
from tests.faults.remote_servers import RawServer

PROMPT_S = 3.0  # generous; the cell-end flush used to wait 10 s for the remote


@pytest.fixture
def shell() -> Iterator[Any]:
    ipython = InteractiveShell.instance()
    original = ipython.display_pub
    ipython.display_pub = CapturingDisplayPublisher()
    assert ipython.run_cell("import mlflow_trace_nb as mlflow").success
    yield ipython
    ipython.display_pub = original
    InteractiveShell.clear_instance()


@pytest.fixture
def hung() -> Iterator[RawServer]:
    server = RawServer(servers.hang)
    yield server
    mlflow.set_destination("memory")
    server.close()


def _stored(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM traces").fetchone()[0])


def test_cell_end_flush_is_prompt_and_local_with_a_hung_endpoint(
    shell: Any, hung: RawServer, tmp_path: Path
) -> None:
    assert register_cell_flush()
    assert _flush_after_cell in shell.events.callbacks["post_run_cell"]
    db = tmp_path / "cell.db"
    shell.run_cell(
        "from mlflow_trace_nb.tracing.destination import OTLP, LocalStore\n"
        f"mlflow.set_destination([LocalStore({str(db)!r}), OTLP({hung.url!r}, timeout_s=30,"
        " interval_s=0.01, exit_timeout_s=0.2)])"
    )
    started = time.monotonic()
    result = shell.run_cell(
        "@mlflow.trace\ndef answer(q):\n    return 42\n\n[answer(i) for i in range(3)]"
    )
    elapsed = time.monotonic() - started
    assert result.success and result.result == [42, 42, 42]
    assert elapsed < PROMPT_S, f"the cell took {elapsed:.1f} s to end"
    assert _stored(db) == 3  # the cell-end flush wrote the local store, no read needed
    assert servers.wait_until(lambda: hung.connections > 0, 5)  # the exporter is stuck there
    started = time.monotonic()
    assert shell.run_cell("len(mlflow.search_traces())").result == 3
    assert time.monotonic() - started < PROMPT_S
