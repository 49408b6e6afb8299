"""search_sessions: traces grouped by MLflow's session metadata key, on a real SQLite store."""

from __future__ import annotations

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb import keys
from mlflow_trace_nb._internal import sessions
from mlflow_trace_nb._internal.sessions import Session, search_sessions


def _turn(session: str | None, text: str, **metadata: str) -> None:
    with mlflow.start_span(text):
        if session is not None:
            metadata[keys.TRACE_SESSION] = session
        if metadata:
            mlflow.update_current_trace(metadata=metadata)


def test_sessions_newest_first_with_their_traces_oldest_first() -> None:
    _turn("chat-a", "a1")
    _turn("chat-b", "b1")
    _turn(None, "loose")
    _turn("chat-a", "a2")
    _turn("it's \\ odd", "odd")
    found = search_sessions()
    assert [s.id for s in found] == ["it's \\ odd", "chat-a", "chat-b"]
    chat_a = found[1]
    assert isinstance(chat_a, Session) and len(chat_a) == 2
    assert [t.info.name for t in chat_a] == ["a1", "a2"]
    assert chat_a[0].info.request_metadata[keys.TRACE_SESSION] == "chat-a"
    assert repr(chat_a) == "Session(id='chat-a')"
    assert [s.id for s in search_sessions(max_results=1)] == ["it's \\ odd"]


def test_scoped_to_a_run_or_model() -> None:
    _turn("s1", "x", **{keys.SOURCE_RUN: "run-1"})
    _turn("s2", "y", **{keys.SOURCE_RUN: "run-2", keys.MODEL_ID: "m-1"})
    assert [s.id for s in search_sessions(run_id="run-1")] == ["s1"]
    assert [s.id for s in search_sessions(model_id="m-1")] == ["s2"]
    assert search_sessions(run_id="nope") == []


def test_paging_finds_sessions_beyond_one_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sessions, "_PAGE", 3)
    _turn("oldest", "o")
    for i in range(7):  # many traces within few milliseconds: pages share a millisecond
        _turn("new", f"new{i}")
    found = search_sessions()
    assert [s.id for s in found] == ["new", "oldest"]
    assert len(found[0]) == 7


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_results": "5"}, TypeError),
        ({"max_results": True}, TypeError),
        ({"max_results": 0}, ValueError),
        ({"run_id": 5}, TypeError),
        ({"locations": "0"}, TypeError),
        ({"include_spans": "yes"}, TypeError),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        search_sessions(**kwargs)  # type: ignore[arg-type]
