"""Spans left open by mistake: ended at the end of the notebook cell (a real IPython shell),
at interpreter exit (a real subprocess), when their trace is garbage collected (a finished
thread, a dropped context), and bounded in number per trace."""

from __future__ import annotations

import contextvars
import gc
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.displaypub import CapturingDisplayPublisher
from IPython.core.interactiveshell import InteractiveShell

import mlflow_trace_nb as mlflow
from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.runtime import DESTINATION_ENV, RUNTIME
from mlflow_trace_nb._internal.tracer import span_lifecycle
from mlflow_trace_nb._internal.tracer.span_leaks import (
    CELL_END_MESSAGE,
    COLLECTED_MESSAGE,
    EXIT_MESSAGE,
)
from mlflow_trace_nb.display.cell_flush import _flush_after_cell
from mlflow_trace_nb.entities import Trace
from mlflow_trace_nb.store.sqlite import SqliteStore
from tests.helpers import set_attributes


@pytest.fixture
def shell() -> Iterator[Any]:
    ipython = InteractiveShell.instance()
    original = ipython.display_pub
    ipython.display_pub = CapturingDisplayPublisher()
    ipython.run_cell("import mlflow_trace_nb as mlflow")
    if _flush_after_cell not in ipython.events.callbacks["post_run_cell"]:
        ipython.events.register("post_run_cell", _flush_after_cell)  # as the import does
    yield ipython
    ipython.display_pub = original
    InteractiveShell.clear_instance()


def _traces() -> dict[str, Trace]:
    found = mlflow.search_traces(return_type="list")
    assert isinstance(found, list)
    return {t.name: t for t in found}


def _traces_after_exit(db: Path, script: str) -> list[Any]:
    """Run ``script`` in a fresh interpreter tracing into ``db``; the traces it left."""
    env = {**os.environ, DESTINATION_ENV: f"sqlite:///{db}"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120)
    store = SqliteStore(str(db))
    try:
        return list(store.search(experiment_ids=None))
    finally:
        store.close()


def test_span_left_open_by_a_failing_cell_is_ended_with_the_cell(shell: Any) -> None:
    result = shell.run_cell(
        "outer = mlflow.start_span('forgotten')\n"
        "inner = mlflow.start_span('inner')\n"
        "raise ValueError('boom')"
    )
    assert isinstance(result.error_in_exec, ValueError)
    shell.run_cell(
        "@mlflow.trace\ndef later(x):\n    return x\n\n"
        "later(1)\nassert mlflow.get_current_active_span() is None"
    )
    shell.run_cell("later(2)")
    traces = _traces()
    forgotten = traces["forgotten"]
    assert forgotten.status == "ERROR"
    spans = {s.name: s for s in forgotten.spans}
    assert set(spans) == {"forgotten", "inner"}  # later cells did not nest under it
    assert spans["forgotten"].status_message == CELL_END_MESSAGE
    assert spans["inner"].status_message == CELL_END_MESSAGE
    (event,) = spans["inner"].events  # the cell's exception, on the innermost span
    assert event.attributes["exception.type"] == "ValueError"
    later = [t for t in mlflow.search_traces(return_type="list") if t.name == "later"]
    assert len(later) == 2 and all(len(t.spans) == 1 for t in later)


def test_span_entered_by_hand_in_a_cell_without_error_is_ended_too(shell: Any) -> None:
    shell.run_cell("mlflow.start_span('entered').__enter__()\nx = 1")
    shell.run_cell("assert mlflow.get_current_active_span() is None")
    trace = _traces()["entered"]
    assert trace.status == "ERROR"
    assert trace.spans[0].status_message == CELL_END_MESSAGE and not trace.spans[0].events


def test_with_blocks_and_finished_spans_are_left_alone(shell: Any) -> None:
    shell.run_cell("with mlflow.start_span('tidy'):\n    pass")
    assert _traces()["tidy"].status == "OK"


def test_span_of_a_finished_thread_is_written_when_collected() -> None:
    def work() -> None:
        mlflow.start_span("in-thread").set_attribute("k", "v")  # never ended

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    gc.collect()
    trace = _traces()["in-thread"]
    assert trace.status == "ERROR"
    assert trace.spans[0].status_message == COLLECTED_MESSAGE
    assert set_attributes(trace.spans[0]) == {"k": "v"}


def test_span_of_a_dropped_context_is_written_when_collected() -> None:
    def work() -> None:
        root = mlflow.start_span("dropped")
        mlflow.start_span("dropped-child")
        root.set_inputs({"q": 1})

    contextvars.Context().run(work)
    gc.collect()
    trace = _traces()["dropped"]
    assert sorted(s.name for s in trace.spans) == ["dropped", "dropped-child"]
    assert {s.status_code for s in trace.spans} == {"ERROR"}


def test_span_left_open_at_exit_is_written(tmp_path: Path) -> None:
    db = tmp_path / "exit.db"
    script = (
        "import mlflow_trace_nb as mlflow\n"
        "span = mlflow.start_span('left-open')\n"
        "mlflow.trace(len)('abc')  # nests under it\n"
    )
    (trace,) = _traces_after_exit(db, script)
    assert trace.name == "left-open" and trace.status == "ERROR"
    assert trace.data.root is not None and trace.data.root.status_message == EXIT_MESSAGE
    assert sorted(s.name for s in trace.spans) == ["left-open", "len"]


def test_spans_left_open_outside_the_main_context_at_exit_are_written(tmp_path: Path) -> None:
    """A ``start_span_no_context`` root (with an open child) held by a module global, and a
    ``start_span`` root entered in a thread that then finished: both ended ERROR at exit and
    written (the first used to be dropped: "could not be written")."""
    db = tmp_path / "exit.db"
    script = (
        "import threading\n"
        "import mlflow_trace_nb as mlflow\n"
        "root = mlflow.start_span_no_context('no-context')\n"
        "child = mlflow.start_span_no_context('no-context-child', parent_span=root)\n"
        "kept = []\n"
        "t = threading.Thread(target=lambda: kept.append(mlflow.start_span('in-thread')))\n"
        "t.start(); t.join()\n"
    )
    env = {**os.environ, DESTINATION_ENV: f"sqlite:///{db}"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, check=True, timeout=120, capture_output=True
    )
    assert b"could not be written" not in done.stderr, done.stderr
    store = SqliteStore(str(db))
    try:
        traces = {t.name: t for t in store.search(experiment_ids=None)}
    finally:
        store.close()
    assert set(traces) == {"no-context", "in-thread"}
    for trace in traces.values():
        assert trace.status == "ERROR"
        assert {s.status_message for s in trace.spans} == {EXIT_MESSAGE}
    assert len(traces["no-context"].spans) == 2


def test_a_span_left_open_under_a_root_that_ended_is_written_at_exit(tmp_path: Path) -> None:
    """It used to be neither ended nor written: the exit pass skipped every trace whose root
    had ended."""
    db = tmp_path / "exit.db"
    script = (
        "import mlflow_trace_nb as mlflow\n"
        "root = mlflow.start_span_no_context('root')\n"
        "child = mlflow.start_span_no_context('forgotten', parent_span=root)\n"
        "done = mlflow.start_span_no_context('done', parent_span=root)\n"
        "done.end(); root.end()\n"
        "with mlflow.start_span('later'):  # a later trace: the ended one is let go\n"
        "    pass\n"
    )
    traces = {t.name: t for t in _traces_after_exit(db, script)}
    assert set(traces) == {"root", "later"}
    trace = traces["root"]
    spans = {s.name: s for s in trace.spans}
    assert set(spans) == {"root", "done", "forgotten"}
    assert spans["forgotten"].status_message == EXIT_MESSAGE
    assert spans["forgotten"].status.status_code == "ERROR"
    assert spans["root"].status.status_code == "OK"


def test_open_spans_past_the_live_span_cap_are_written_at_exit(tmp_path: Path) -> None:
    """A trace keeps its first 2,000 live spans; manual spans started after those, left
    open, were not found at exit (2,000 of 2,101 stored)."""
    db = tmp_path / "exit.db"
    script = (
        "import mlflow_trace_nb as mlflow\n"
        "root = mlflow.start_span_no_context('root')\n"
        "ended = [mlflow.start_span_no_context(f'e{i}', parent_span=root) for i in range(1500)]\n"
        "for span in ended: span.end()\n"
        "kept = [mlflow.start_span_no_context(f'c{i}', parent_span=root) for i in range(600)]\n"
        "root.end()\n"
    )
    (trace,) = _traces_after_exit(db, script)
    assert len(trace.spans) == 2_101
    left = [s for s in trace.spans if s.name.startswith("c")]
    assert len(left) == 600 and {s.status_message for s in left} == {EXIT_MESSAGE}


def test_a_span_left_open_under_a_root_that_ended_is_written_when_collected() -> None:
    root = mlflow.start_span_no_context("root")
    child = mlflow.start_span_no_context("forgotten", parent_span=root)
    root.end()
    trace_id = root.trace_id
    del root, child
    with mlflow.start_span("next"):  # the last trace is kept (get_last_active_trace_id)
        pass
    gc.collect()
    assert mlflow.flush(10)
    trace = mlflow.get_trace(trace_id)
    assert trace is not None
    spans = {s.name: s for s in trace.data.spans}
    assert set(spans) == {"root", "forgotten"}
    assert spans["forgotten"].status.description == COLLECTED_MESSAGE


def test_spans_per_trace_are_bounded_with_a_count_and_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="mlflow_trace_nb")
    monkeypatch.setattr(span_lifecycle, "MAX_SPANS_PER_TRACE", 50)
    monkeypatch.setattr(span_lifecycle, "_warned_span_limit", False)
    traced = mlflow.trace(name="step")(len)
    for name in ("first", "second"):
        root = mlflow.start_span(name)  # a span left open: every call nests under it
        for _ in range(500):
            traced("ab")
        assert len(root._state.spans) == 50  # memory stays bounded
        root.end()
    traces = _traces()
    for name in ("first", "second"):
        assert len(traces[name].spans) == 50
        assert traces[name].request_metadata[keys.DROPPED_SPANS] == "451"
    warnings = [r for r in caplog.records if "reached 50 spans" in r.getMessage()]
    assert len(warnings) == 1
    assert RUNTIME.flush()
