"""Trace and span ids."""

from __future__ import annotations

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
