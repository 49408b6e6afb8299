"""A traced generator's chunk events and outputs: bounded, recorded as yielded, never failing
the traced code (``_internal.tracer.chunks``; the comparison with MLflow is in
``tests/compat/test_generators_compat.py``)."""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.serialization import MAX_JSON_CHARS
from mlflow_trace_nb._internal.tracer.chunks import (
    MAX_CHUNK_CHARS,
    MAX_CHUNK_EVENTS,
    MAX_GENERATOR_ITEMS,
    ChunkEvent,
    chunk_json,
)
from mlflow_trace_nb.keys import DROPPED_CHUNK_EVENTS
from tests.helpers import last_trace


def test_a_long_stream_keeps_the_first_chunk_events_and_counts_the_rest() -> None:
    total = 100_000

    @mlflow.trace
    def stream() -> Any:
        yield from range(total)

    assert sum(stream()) == sum(range(total))
    (span,) = last_trace().spans
    assert len(span.events) == MAX_CHUNK_EVENTS
    assert span.events[-1].name == f"mlflow.chunk.item.{MAX_CHUNK_EVENTS - 1}"
    assert span.events[-1].attributes == {"mlflow.chunk.value": str(MAX_CHUNK_EVENTS - 1)}
    assert span.attributes[DROPPED_CHUNK_EVENTS] == total - MAX_CHUNK_EVENTS
    assert len(span.outputs) == MAX_GENERATOR_ITEMS + 1  # the last one: a truncation mark
    assert span.outputs[:3] == [0, 1, 2]


def test_a_long_stream_does_not_hold_what_it_yielded() -> None:
    @mlflow.trace
    def stream(n: int) -> Any:
        for i in range(n):
            yield f"{i:08d}" * 128  # 1 KiB each: 100 MiB if every item were kept

    gc.collect()
    tracemalloc.start()
    try:
        for _ in stream(100_000):
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20  # the first 1,000 items (~1 MiB) and their events, not 100 MiB
    events = last_trace().spans[0].events
    assert len(events) == MAX_CHUNK_EVENTS
    values = [e.attributes["mlflow.chunk.value"] for e in events]
    kept = [v for v in values if "not kept" not in v]
    assert sum(map(len, kept)) <= MAX_CHUNK_CHARS < len(kept) * 1026 + 1026  # the budget
    assert sum(map(len, values)) < MAX_JSON_CHARS  # the span's events are stored whole
    assert json.loads(values[0]) == "00000000" * 128
    assert json.loads(values[-1]).startswith("…[chunk value of 1026 chars not kept")


def test_no_dropped_count_when_every_item_has_its_event() -> None:
    @mlflow.trace
    def stream() -> Any:
        yield 1

    list(stream())
    assert DROPPED_CHUNK_EVENTS not in last_trace().spans[0].attributes


def test_an_item_mutated_after_it_was_yielded_is_recorded_as_yielded() -> None:
    @mlflow.trace
    def stream() -> Any:
        yield {"tokens": ["a"]}

    for item in stream():
        item["tokens"].append("b")
        item["late"] = True
    (span,) = last_trace().spans
    assert span.outputs == [{"tokens": ["a"]}]
    assert json.loads(span.events[0].attributes["mlflow.chunk.value"]) == {"tokens": ["a"]}


def test_chunk_events_interleave_with_the_generators_own_events() -> None:
    @mlflow.trace
    def stream() -> Any:
        yield "a"
        mlflow.get_current_active_span().add_event(mlflow.entities.SpanEvent("mid"))
        yield "b"

    list(stream())
    names = [e.name for e in last_trace().spans[0].events]
    assert names == ["mlflow.chunk.item.0", "mid", "mlflow.chunk.item.1"]


def test_a_stream_closed_early_ends_ok_with_what_it_yielded() -> None:
    @mlflow.trace
    def stream() -> Any:
        yield 1
        yield 2
        yield 3

    gen = stream()
    assert next(gen) == 1 and next(gen) == 2
    gen.close()
    (span,) = last_trace().spans
    assert span.status_code == "OK" and span.outputs == [1, 2]
    assert [e.name for e in span.events] == ["mlflow.chunk.item.0", "mlflow.chunk.item.1"]


def test_an_async_stream_failing_part_way_keeps_its_chunk_events() -> None:
    @mlflow.trace
    async def stream() -> Any:
        yield "x"
        raise KeyError("gone")

    async def consume() -> None:
        async for _ in stream():
            pass

    with pytest.raises(KeyError):
        asyncio.run(consume())
    (span,) = last_trace().spans
    assert span.status_code == "ERROR" and span.outputs is None
    assert [e.name for e in span.events] == ["mlflow.chunk.item.0", "exception"]


def test_a_disabled_tracer_adds_no_events_and_changes_nothing() -> None:
    @mlflow.trace
    async def stream() -> Any:
        yield 1

    async def consume() -> list[int]:
        return [x async for x in stream()]

    mlflow.tracing.disable()
    try:
        assert asyncio.run(consume()) == [1]
    finally:
        mlflow.tracing.enable()
    assert mlflow.get_last_active_trace() is None


class _Hostile:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_an_item_that_cannot_be_encoded_is_recorded_as_a_placeholder() -> None:
    assert json.loads(chunk_json(_Hostile())).startswith("<")

    @mlflow.trace
    def stream() -> Any:
        yield _Hostile()

    assert len(list(stream())) == 1
    value = last_trace().spans[0].events[0].attributes["mlflow.chunk.value"]
    assert isinstance(json.loads(value), str)


def test_chunk_json_is_mlflows_layout() -> None:
    assert chunk_json({"a": [1, "é"]}) == '{"a": [1, "\\u00e9"]}'
    assert chunk_json(None) == "null"
    assert chunk_json("x" * 200_000).endswith('"')  # bounded as any payload


def test_a_chunk_events_attributes_can_be_replaced() -> None:
    event = ChunkEvent(0, [1], 5)
    event.attributes = {"k": "v"}
    assert event.attributes == {"k": "v"} and event.to_dict()["timestamp_ns"] == 5
