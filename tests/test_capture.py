"""Snapshots of recorded values and exception events."""

from __future__ import annotations

from mlflow_trace_nb._internal.tracer.capture import exception_event, snapshot, snapshot_values


def test_snapshot_copies_small_containers_two_levels_deep() -> None:
    messages = [{"role": "user"}]
    payload = {"messages": messages, "n": 1}
    copied = snapshot(payload)
    messages.append({"role": "assistant"})
    payload["n"] = 2
    assert copied == {"messages": [{"role": "user"}], "n": 1}
    assert snapshot(7) == 7 and snapshot("s") == "s"
    listed = [1, 2]
    assert snapshot(listed) is not listed and snapshot(listed) == listed


def test_big_containers_are_kept_by_reference() -> None:
    big = list(range(5000))
    assert snapshot(big) is big
    fresh = {"big": big, "small": [1]}
    result = snapshot_values(fresh)
    assert result is fresh and result["big"] is big


def test_exception_event_describes_the_exception() -> None:
    try:
        raise ValueError("bad input")
    except ValueError as exc:
        event = exception_event(exc)
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "bad input"
    assert 'raise ValueError("bad input")' in event.attributes["exception.stacktrace"]
    assert exception_event("plain text").attributes["exception.message"] == "plain text"


def test_exception_event_survives_hostile_exceptions() -> None:
    class Hostile(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no message for you")

    event = exception_event(Hostile())
    assert event.attributes["exception.type"].endswith("Hostile")
    assert "unprintable" in event.attributes["exception.message"]
