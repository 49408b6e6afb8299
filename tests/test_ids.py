"""Trace and span ids."""

from __future__ import annotations

import random

import pytest

from mlflow_trace_nb._internal.tracer import ids


def test_formats_and_parse_round_trip() -> None:
    trace_id = ids.new_trace_id()
    request_id = ids.format_request_id(trace_id)
    assert request_id.startswith("tr-") and len(request_id) == 35
    assert ids.parse_request_id(request_id) == trace_id
    assert ids.parse_request_id(request_id[3:]) == trace_id
    assert len(ids.format_span_id(ids.new_span_id())) == 16
    with pytest.raises(ValueError, match="not a trace id"):
        ids.parse_request_id("tr-123")


def test_trace_ids_sort_by_start_time() -> None:
    early = ids.new_trace_id(1_000_000_000_000_000)
    late = ids.new_trace_id(1_000_000_001_000_000)
    assert early < late
    assert early >> 80 == 1_000_000_000  # the top 48 bits are the start in ms


def test_seeded_ids_are_deterministic() -> None:
    ids.use_seed(7)
    first = [ids.new_span_id() for _ in range(3)]
    ids.use_seed(7)
    assert [ids.new_span_id() for _ in range(3)] == first
    ids.use_seed(None)
    assert all(i != 0 for i in first)


def test_a_users_random_seed_neither_repeats_ids_nor_shifts_their_sequence() -> None:
    """``random.seed(0)`` before each traced call (ML reproducibility code): every trace and
    span is stored, and the user's own draws are what they would be without tracing (ids
    used to come from the ``random`` module: 5 of 11 spans and 1 of 50 traces were kept)."""
    import random

    import mlflow_trace_nb as mlflow

    @mlflow.trace
    def step(x: int) -> float:
        with mlflow.start_span("inner"):
            return random.random()

    drawn = []
    for i in range(50):
        random.seed(0)
        drawn.append(step(i))
    random.seed(0)
    assert drawn == [random.random()] * 50
    mlflow.flush()
    traces = mlflow.search_traces(return_type="list")
    assert len({t.info.trace_id for t in traces}) == 50
    assert len({s.span_id for t in traces for s in t.data.spans}) == 100


def _first_id_in_a_child() -> int:
    import os

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first span id, to the parent
        os.write(write, ids.new_span_id().to_bytes(8, "big"))
        os._exit(0)
    os.close(write)
    child_id = int.from_bytes(os.read(read, 8), "big")
    os.close(read)
    os.waitpid(pid, 0)
    return child_id


def test_a_forked_child_draws_other_ids() -> None:
    assert _first_id_in_a_child() != ids.new_span_id()


def test_forked_children_of_a_seeded_process_draw_other_ids() -> None:
    """``use_seed`` (tests' determinism) once made every forked worker repeat the parent's
    sequence: each child's traces overwrote the others' in a shared file."""
    ids.use_seed(7)
    children = {_first_id_in_a_child() for _ in range(4)}
    assert len(children) == 4 and ids.new_span_id() not in children
    ids.use_seed(7)
    assert ids.new_span_id() == random.Random(7).getrandbits(64)  # the parent stays seeded


def test_a_traced_calls_trace_id_starts_with_its_roots_start_in_ms() -> None:
    """The tracer draws the id where the root ends (inlined there): same layout as here."""
    import mlflow_trace_nb as mlflow
    from mlflow_trace_nb.testing.collector import Collector

    sink = Collector()
    mlflow.set_destination(sink)

    @mlflow.trace
    def traced() -> int:
        return 1

    ids.use_seed(11)
    try:
        traced()
        traced()
    finally:
        ids.use_seed(None)
    mlflow.flush()
    first, second = sink.items
    assert first.trace_id >> 80 == first.start_time_ns // 1_000_000
    assert first.trace_id.bit_length() <= 128 and first.trace_id != second.trace_id
    assert first.span_id != 0
