"""Odd values fail nothing: surrogates, Enums, huge names, out-of-range numbers, per field."""

from __future__ import annotations

import enum
import os
from pathlib import Path

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.store.limits import (
    MAX_KEY_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_NAME_CHARS,
    MAX_VALUE_CHARS,
    clean_text,
)
from mlflow_trace_nb.store.sqlite import SqliteStore
from tests.faults.store_helpers import flat, record, rows

BAD = "x\ud800y"  # a lone surrogate: not encodable as UTF-8
FILE_NAME = os.fsdecode(b"report-\xff.txt")  # a non-UTF-8 file name: '\udcff'
FIXED = "x\ufffdy"


class Kind(enum.Enum):
    RETRIEVER = "RETRIEVER"


def _good(i: int) -> None:
    with mlflow.start_span(f"good-{i}") as span:
        mlflow.update_current_trace(tags={"i": str(i)})
        with mlflow.start_span("child"):
            pass
        span.set_outputs(i)


def _goods(n: int) -> None:
    for i in range(n):
        _good(i)


def _odd() -> None:
    with mlflow.start_span(f"root {BAD}", span_type=Kind.RETRIEVER) as span:  # type: ignore[arg-type]
        mlflow.update_current_trace(tags={f"tag {BAD}": f"value {BAD}"}, metadata={BAD: BAD})
        mlflow.log_span_event(f"event {BAD}", {"k": BAD})
        try:
            with mlflow.start_span(f"child {BAD}"):
                raise OSError(f"cannot open {FILE_NAME}")
        except OSError:
            pass
        span.set_status("ERROR", f"status {BAD}")


def test_one_batch_with_surrogates_in_every_text_field_keeps_all_its_neighbours(
    tmp_path: Path,
) -> None:
    def make() -> None:
        for i in range(50):
            _good(i)
        _odd()
        for i in range(50, 100):
            _good(i)

    items = record(make)
    assert len(items) == 101
    db = tmp_path / "batch.db"
    store = SqliteStore(str(db))
    store.export(flat(items))  # one batch, one transaction
    assert store.count_traces() == 101
    health = store.health()
    assert (health.written_traces, health.dropped_spans, health.rejected_spans) == (101, 0, 0)
    good = rows(db, "SELECT count(*) FROM traces WHERE name LIKE 'good-%'")
    assert good == [(100,)]

    odd = next(
        t for t in store.search(experiment_ids=None) if (t.info.name or "").startswith("root")
    )
    assert odd.info.name == f"root {FIXED}"
    assert odd.info.tags == {f"tag {FIXED}": f"value {FIXED}", "mlflow.traceName": odd.info.name}
    assert odd.info._own_metadata == {FIXED: FIXED}  # as stored (no computed keys)
    spans = {s.name: s for s in odd.spans}
    root, child = spans[f"root {FIXED}"], spans[f"child {FIXED}"]
    assert root.span_type == "RETRIEVER"  # the Enum's value
    assert root.status_code == "ERROR" and root.status_message == f"status {FIXED}"
    assert [e.name for e in root.events] == [f"event {FIXED}"]
    assert child.status_message == "cannot open report-\ufffd.txt"
    assert rows(db, "SELECT value FROM trace_tags WHERE key = ?", f"tag {FIXED}") == [
        (f"value {FIXED}",)
    ]
    # the tag filter finds the odd trace by its cleaned tag
    found = store.search(
        experiment_ids=None,
        where="t.request_id IN (SELECT request_id FROM trace_tags WHERE key = ? AND value = ?)",
        params=[f"tag {FIXED}", f"value {FIXED}"],
    )
    assert [t.info.request_id for t in found] == [odd.info.request_id]


def test_the_same_batch_through_the_write_behind_queue(db_path: Path) -> None:
    for i in range(100):
        _good(i)
    _odd()
    assert mlflow.flush(30)
    assert len(mlflow.search_traces(max_results=1000)) == 101
    traces = mlflow.search_traces(return_type="list", max_results=1000)
    assert isinstance(traces, list)
    names = {t.info.name for t in traces}
    assert f"root {FIXED}" in names


def test_huge_span_names_and_tag_values_are_bounded_and_the_store_stays_small(
    tmp_path: Path,
) -> None:
    prompt = "p" * 1_000_000

    def make() -> None:
        for _ in range(40):
            with mlflow.start_span(prompt):
                mlflow.update_current_trace(tags={"k" * 5000: prompt}, metadata={"m": prompt})
                with mlflow.start_span(prompt + "é"):
                    pass

    db = tmp_path / "big.db"
    store = SqliteStore(str(db))
    store.export(flat(record(make)))
    assert store.count_traces() == 40
    trace = store.search(experiment_ids=None, limit=1)[0]
    name = trace.info.name or ""
    assert len(name) == MAX_NAME_CHARS and "truncated" in name
    assert all(len(s.name) <= MAX_NAME_CHARS for s in trace.spans)
    ((key, value),) = [(k, v) for k, v in trace.info.tags.items() if k != "mlflow.traceName"]
    assert len(key) == MAX_KEY_CHARS and len(value) == MAX_VALUE_CHARS
    assert len(trace.info.request_metadata["m"]) == MAX_VALUE_CHARS
    store.close()
    size = sum(p.stat().st_size for p in tmp_path.glob("big.db*"))
    assert size < 5_000_000, f"store is {size:,} bytes"


@pytest.mark.parametrize(
    ("value", "cap", "expected"),
    [
        ("plain", 10, "plain"),
        (BAD, 10, FIXED),
        ("\ud83d\ude00", 10, "😀"),  # a valid surrogate pair is joined, not replaced
        ("a\x00b", 10, "a\x00b"),  # NUL is kept
        (Kind.RETRIEVER, 100, "RETRIEVER"),
        (12, 10, "12"),
    ],
)
def test_clean_text(value: object, cap: int, expected: str) -> None:
    assert clean_text(value, cap) == expected


def test_clean_text_caps_with_a_marker_and_survives_bad_str() -> None:
    class NoStr:
        def __str__(self) -> str:
            raise RuntimeError("no")

    cut = clean_text("é" * 20_000 + BAD, MAX_MESSAGE_CHARS)
    assert len(cut) == MAX_MESSAGE_CHARS and cut.endswith("chars]")
    cut.encode("utf-8")
    assert clean_text(NoStr(), 50) == "<unprintable NoStr>"


def test_out_of_range_numbers_and_odd_experiment_ids_fail_only_their_trace(
    tmp_path: Path,
) -> None:
    items = record(lambda: _goods(10))
    items[3].set_all(experiment_id="not-a-number")  # goes to the default experiment
    items[5].set_span(1, end_time_ns=10**30)  # cannot be an SQLite INTEGER
    items[7].set_span(0, end_time_ns="garbage")
    store = SqliteStore(str(tmp_path / "numbers.db"))
    store.export(flat(items))
    assert store.count_traces() == 10
    assert store.health().rejected_spans == 0
    trace = store.get_trace(items[3].request_id)
    assert trace is not None and trace.info.experiment_id == "0"
    span = store.get_trace(items[5].request_id).spans  # type: ignore[union-attr]
    assert sorted(s.end_time_ns is None for s in span) == [False, True]
    root = store.get_trace(items[7].request_id)
    assert root is not None and root.info.execution_time_ms is None


def test_a_root_start_out_of_range_fails_neither_its_trace_nor_later_searches(
    tmp_path: Path,
) -> None:
    """A root's start the tracer would refuse, set behind its back: stored as 0 (not NULL,
    from which no reader can build the root), so a DataFrame of every trace still works."""
    items = record(lambda: _goods(4))
    items[2].set_span(0, start_time_ns=2**64)
    store = SqliteStore(str(tmp_path / "start.db"))
    store.export(flat(items))
    assert store.count_traces() == 4
    root = store.get_trace(items[2].request_id)
    assert root is not None and root.spans[0].start_time_ns == 0
    mlflow.set_destination(f"sqlite:///{tmp_path / 'start.db'}")
    frame = mlflow.search_traces()
    assert sorted(frame["trace_id"]) == sorted(t.request_id for t in items)


def test_a_span_that_cannot_be_serialised_is_left_out_alone(tmp_path: Path) -> None:
    items = record(lambda: _goods(10))
    items[4].set_span(1, events=(object(),))  # not an event: serialising it raises
    store = SqliteStore(str(tmp_path / "broken.db"))
    store.export(flat(items))
    assert store.count_traces() == 10
    health = store.health()
    assert health.rejected_spans == 1 and health.written_traces == 10
    kept = store.get_trace(items[4].request_id)
    assert kept is not None and [s.name for s in kept.spans] == ["good-4"]


def test_values_the_database_refuses_fail_only_their_own_trace(
    tmp_path: Path, caplog_warnings: pytest.LogCaptureFixture
) -> None:
    """Holes in the cleaning (fields it does not cover, set behind the API's back) still
    cost only their own trace: the batch is written again item by item, scrubbed."""
    items = record(lambda: _goods(20))
    items[3].set_span(0, status_code=object())  # not bindable: scrubbed to its str()
    items[7].set_span(1, status_code="OK\ud800")  # not encodable: scrubbed to U+FFFD
    items[11].set_span(0, status_code=None)  # NOT NULL: cannot be saved, left out alone
    store = SqliteStore(str(tmp_path / "refused.db"))
    store.export(flat(items))
    assert store.count_traces() == 19
    assert store.get_trace(items[11].request_id) is None
    health = store.health()
    assert (health.written_traces, health.rejected_spans) == (19, 2)
    assert health.written_spans == 38
    scrubbed = store.get_trace(items[7].request_id)
    assert scrubbed is not None and {s.status_code for s in scrubbed.spans} >= {"OK\ufffd"}
    assert "left out" in caplog_warnings.text


def test_a_span_keeps_its_first_events_and_counts_the_rest() -> None:
    from mlflow_trace_nb._internal.tracer.live_span import MAX_EVENTS_PER_SPAN

    with mlflow.start_span("chatty") as span:
        for i in range(MAX_EVENTS_PER_SPAN + 25):
            span.add_event(f"e{i}", {"i": i})
        span.record_exception(ValueError("kept"))  # an exception event is always kept
    mlflow.flush()
    (stored,) = mlflow.search_traces(return_type="list")
    (read,) = stored.data.spans
    names = [e.name for e in read.events]
    assert len(names) == MAX_EVENTS_PER_SPAN + 1 and names[-1] == "exception"
    assert names[MAX_EVENTS_PER_SPAN - 1] == f"e{MAX_EVENTS_PER_SPAN - 1}"
    assert read.attributes["mlflow_trace_nb.dropped_events"] == 25


def test_events_too_large_together_keep_a_prefix_the_exception_and_a_count() -> None:
    """50 events of 50,000 characters (2.5 MB) do not fit one span row: the first ones that
    fit are stored, the exception event too, and a last event counts the rest (before, the
    list became one preview string and the span read back with no events at all)."""
    with mlflow.start_span("bulky") as span:
        for i in range(50):
            span.add_event(f"b{i}", {"blob": "x" * 50_000})
        span.record_exception(ValueError("boom"))
    mlflow.flush()
    (stored,) = mlflow.search_traces(return_type="list")
    events = stored.data.spans[0].events
    names = [e.name for e in events]
    kept = [n for n in names if n.startswith("b")]
    assert 10 <= len(kept) < 50 and kept == [f"b{i}" for i in range(len(kept))]
    assert names[-2:] == ["exception", "…[truncated]"]
    assert events[-1].attributes["dropped_events"] == 50 - len(kept)
    assert events[-2].attributes["exception.message"] == "boom"


def test_ten_thousand_tags_keep_the_same_first_thousand_everywhere(db_path: Path) -> None:
    """10,000 tags on one trace: the trace shows the first 999 and a marker, and ``tags.``
    filters find exactly those (they used to match all 10,000 the trace did not show)."""
    from mlflow_trace_nb.store.limits import MAX_PAIRS

    with mlflow.start_span("many-tags"):
        mlflow.update_current_trace(tags={f"k{i}": f"v{i}" for i in range(10_000)})
    mlflow.flush()
    (trace,) = mlflow.search_traces(return_type="list")
    user_tags = {k: v for k, v in trace.info.tags.items() if not k.startswith("mlflow.")}
    assert len(user_tags) == MAX_PAIRS
    assert user_tags["…[truncated]"] == "9001 more items"
    assert "k998" in user_tags and "k999" not in user_tags
    assert len(mlflow.search_traces(filter_string="tags.k998 = 'v998'")) == 1
    assert len(mlflow.search_traces(filter_string="tags.k9999 = 'v9999'")) == 0
