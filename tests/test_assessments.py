"""Assessments (MLflow 3's feedback and expectations) in the SQLite store: the public
functions, override/delete semantics, the ``assessments`` column, ``feedback.``/
``expectation.`` filters, the schema migration of an older file, hostile values."""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb._internal.runtime import RUNTIME
from mlflow_trace_nb.entities import (
    AssessmentError,
    AssessmentSource,
    AssessmentSourceType,
    Expectation,
    Feedback,
)
from mlflow_trace_nb.errors import MlflowException
from mlflow_trace_nb.store.migrations import m001_initial
from mlflow_trace_nb.store.sqlite import SqliteStore

ID = re.compile(r"a-[0-9a-f]{32}")


@mlflow.trace
def answer(x: int) -> int:
    return x * 2


def _trace_ids(n: int) -> list[str]:
    out = []
    for i in range(n):
        answer(i)
        trace_id = mlflow.get_last_active_trace_id()
        assert trace_id is not None
        out.append(trace_id)
    return out


def test_log_feedback_round_trip() -> None:
    (trace_id,) = _trace_ids(1)  # the trace may still be in the write queue
    source = AssessmentSource(source_type="llm_judge", source_id="gpt-4o")
    logged = mlflow.log_feedback(
        trace_id=trace_id,
        name="relevance",
        value=0.9,
        source=source,
        rationale="on topic",
        metadata={"model": "gpt-4o"},
        span_id="abc",
    )
    assert ID.fullmatch(logged.assessment_id)
    assert logged.trace_id == trace_id
    got = mlflow.get_assessment(trace_id, logged.assessment_id)
    assert isinstance(got, Feedback)
    assert got == logged
    assert (got.name, got.value, got.rationale, got.span_id) == (
        "relevance",
        0.9,
        "on topic",
        "abc",
    )
    assert got.source == AssessmentSource(
        source_type=AssessmentSourceType.LLM_JUDGE, source_id="gpt-4o"
    )
    assert got.metadata == {"model": "gpt-4o"}
    assert got.valid is True and got.overrides is None
    assert got.create_time_ms == got.last_update_time_ms > 0


def test_defaults_match_mlflow() -> None:
    (trace_id,) = _trace_ids(1)
    feedback = mlflow.log_feedback(trace_id=trace_id)
    assert feedback.name == "feedback" and feedback.value is None
    assert feedback.source == AssessmentSource(source_type="CODE", source_id="default")
    expectation = mlflow.log_expectation(trace_id=trace_id, name="gt", value={"a": [1, 2]})
    assert isinstance(expectation, Expectation)
    assert expectation.source == AssessmentSource(source_type="HUMAN")
    assert mlflow.get_assessment(trace_id, expectation.assessment_id).value == {"a": [1, 2]}


def test_keyword_only_like_mlflow() -> None:
    (trace_id,) = _trace_ids(1)
    with pytest.raises(TypeError):
        mlflow.log_feedback(trace_id, "x", 1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        mlflow.log_expectation(trace_id, "x", 1)  # type: ignore[misc]


def test_feedback_error_is_stored() -> None:
    (trace_id,) = _trace_ids(1)
    try:
        raise TimeoutError("judge timed out")
    except TimeoutError as error:
        logged = mlflow.log_feedback(trace_id=trace_id, name="judge", error=error)
    got = mlflow.get_assessment(trace_id, logged.assessment_id)
    assert isinstance(got, Feedback)
    assert got.error_code == "TimeoutError" and got.error_message == "judge timed out"
    assert got.feedback is not None and got.feedback.error is not None
    assert "judge timed out" in (got.feedback.error.stack_trace or "")
    explicit = AssessmentError(error_code="RATE_LIMIT", error_message="slow down")
    again = mlflow.log_feedback(trace_id=trace_id, name="judge2", error=explicit)
    assert mlflow.get_assessment(trace_id, again.assessment_id).error == explicit


def test_log_assessment_takes_an_entity() -> None:
    (trace_id,) = _trace_ids(1)
    logged = mlflow.log_assessment(trace_id, Expectation(name="gt", value="Paris"))
    assert logged.trace_id == trace_id
    assert mlflow.get_assessment(trace_id, logged.assessment_id).value == "Paris"
    with pytest.raises(MlflowException):
        mlflow.log_assessment(trace_id, "not an assessment")  # type: ignore[arg-type]


def test_missing_trace_and_assessment_raise_like_mlflow() -> None:
    (trace_id,) = _trace_ids(1)
    with pytest.raises(MlflowException, match="Trace with ID 'tr-missing' not found") as info:
        mlflow.log_feedback(trace_id="tr-missing", name="x", value=1)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException, match="Trace with request_id 'tr-missing' not found"):
        mlflow.get_assessment("tr-missing", "a-0")
    with pytest.raises(
        MlflowException, match=f"Assessment with ID 'a-0' not found for trace '{trace_id}'"
    ):
        mlflow.get_assessment(trace_id, "a-0")
    with pytest.raises(MlflowException, match="not found"):
        mlflow.override_feedback(trace_id=trace_id, assessment_id="a-0", value=1)
    with pytest.raises(MlflowException, match="not found"):
        mlflow.update_assessment(trace_id, "a-0", Feedback(name="x", value=1))


def test_active_trace_can_be_assessed() -> None:
    @mlflow.trace
    def judged() -> str:
        trace_id = mlflow.get_active_trace_id()
        assert trace_id is not None
        mlflow.log_feedback(trace_id=trace_id, name="inline", value="good")
        return trace_id

    trace_id = judged()
    trace = mlflow.get_trace(trace_id)
    assert trace is not None
    assert [(a.name, a.value) for a in trace.info.assessments] == [("inline", "good")]


def test_disabled_tracing_trace_id_is_not_logged() -> None:
    feedback = mlflow.log_feedback(trace_id="", name="x", value=1)  # a no-op span's trace id
    assert feedback.assessment_id is None


def test_update_assessment_in_place() -> None:
    (trace_id,) = _trace_ids(1)
    source = AssessmentSource(source_type="HUMAN", source_id="ana")
    fb = mlflow.log_feedback(
        trace_id=trace_id, name="tone", value="ok", source=source, metadata={"a": "1"}, span_id="s1"
    )
    updated = mlflow.update_assessment(
        trace_id,
        fb.assessment_id,
        Feedback(name="tone2", value="great", metadata={"b": "2"}, rationale="r"),
    )
    got = mlflow.get_assessment(trace_id, fb.assessment_id)
    assert got == updated
    assert (got.name, got.value, got.rationale) == ("tone2", "great", "r")
    assert got.metadata == {"a": "1", "b": "2"}
    assert got.source == source and got.span_id == "s1"  # immutable
    assert got.create_time_ms == fb.create_time_ms
    assert got.last_update_time_ms >= fb.last_update_time_ms
    ex = mlflow.log_expectation(trace_id=trace_id, name="gt", value=1)
    mlflow.update_assessment(trace_id, ex.assessment_id, Expectation(name="gt", value=[1, 2]))
    assert mlflow.get_assessment(trace_id, ex.assessment_id).value == [1, 2]
    with pytest.raises(MlflowException, match="Cannot update feedback value on an Expectation"):
        mlflow.update_assessment(trace_id, ex.assessment_id, Feedback(name="gt", value=1))
    with pytest.raises(MlflowException, match="Cannot update expectation value on a Feedback"):
        mlflow.update_assessment(trace_id, fb.assessment_id, Expectation(name="gt", value=1))


def test_override_marks_the_old_one_invalid_and_delete_restores_it() -> None:
    (trace_id,) = _trace_ids(1)
    judge = AssessmentSource(source_type="LLM_JUDGE", source_id="gpt")
    old = mlflow.log_feedback(
        trace_id=trace_id, name="relevance", value=0.6, source=judge, span_id="s"
    )
    new = mlflow.override_feedback(
        trace_id=trace_id, assessment_id=old.assessment_id, value=0.9, rationale="human knows"
    )
    assert new.overrides == old.assessment_id and new.valid is True
    assert (new.name, new.span_id, new.value) == ("relevance", "s", 0.9)
    assert mlflow.get_assessment(trace_id, old.assessment_id).valid is False
    assert mlflow.get_assessment(trace_id, old.assessment_id).value == 0.6  # otherwise unchanged
    assert _matches("feedback.relevance < 0.7") == []
    assert _matches("feedback.relevance > 0.7") == [trace_id]
    mlflow.delete_assessment(trace_id, new.assessment_id)
    assert mlflow.get_assessment(trace_id, old.assessment_id).valid is True
    with pytest.raises(MlflowException, match="not found"):
        mlflow.get_assessment(trace_id, new.assessment_id)
    mlflow.delete_assessment(trace_id, new.assessment_id)  # idempotent, as MLflow's
    ex = mlflow.log_expectation(trace_id=trace_id, name="gt", value=1)
    with pytest.raises(MlflowException, match="is not a feedback assessment"):
        mlflow.override_feedback(trace_id=trace_id, assessment_id=ex.assessment_id, value=2)


def test_trace_info_and_dataframe_column() -> None:
    first, second, bare = _trace_ids(3)
    a = mlflow.log_feedback(trace_id=first, name="correct", value=True)
    b = mlflow.log_expectation(trace_id=first, name="gt", value="x")
    c = mlflow.log_feedback(trace_id=second, name="correct", value=False)
    traces = {t.info.trace_id: t for t in mlflow.search_traces(return_type="list")}
    assert traces[first].info.assessments == [a, b]
    assert traces[second].info.assessments == [c]
    assert traces[bare].info.assessments == []
    df = mlflow.search_traces().set_index("trace_id")
    assert df.loc[first, "assessments"] == [a.to_dictionary(), b.to_dictionary()]
    assert df.loc[bare, "assessments"] == []
    trace = mlflow.get_trace(first)
    assert trace is not None and trace.info.assessments == [a, b]
    # The trace's JSON carries them, and reads back as entities.
    again = mlflow.Trace.from_json(trace.to_json())
    assert again.info.assessments == [a, b]


def test_one_query_reads_the_assessments_of_every_trace() -> None:
    ids = _trace_ids(30)
    for trace_id in ids:
        mlflow.log_feedback(trace_id=trace_id, name="n", value=1)
    mlflow.flush()
    statements: list[str] = []
    conn = RUNTIME.store._reader()
    conn.set_trace_callback(statements.append)
    try:
        traces = mlflow.search_traces(return_type="list")
    finally:
        conn.set_trace_callback(None)
    assert all(len(t.info.assessments) == 1 for t in traces) and len(traces) == 30
    assert len([s for s in statements if "FROM assessments" in s]) == 2  # emptiness probe + read


def _matches(filter_string: str) -> list[str]:
    found = mlflow.search_traces(filter_string=filter_string, return_type="list")
    return sorted(t.info.trace_id for t in found)


@pytest.fixture
def assessed() -> list[str]:
    ids = _trace_ids(5)
    mlflow.log_feedback(trace_id=ids[0], name="correct", value=True)
    mlflow.log_feedback(trace_id=ids[1], name="correct", value=False)
    mlflow.log_feedback(trace_id=ids[2], name="score", value=0.9)
    mlflow.log_feedback(trace_id=ids[3], name="score", value=2)
    mlflow.log_feedback(trace_id=ids[3], name="tone", value="yes")
    mlflow.log_expectation(trace_id=ids[0], name="gt", value="Paris")
    mlflow.log_expectation(trace_id=ids[1], name="gt", value={"city": "Rome"})
    mlflow.log_expectation(trace_id=ids[4], name="gt", value="Zürich 😀")
    return ids


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("feedback.correct = 'true'", [0]),
        ("feedback.correct = 'false'", [1]),
        ("feedback.correct != 'true'", [1]),
        ("feedback.score > 0.5", [2, 3]),
        ("feedback.score >= 2", [3]),
        ("feedback.score < 1", [2]),
        ("feedback.score <= '0.9'", [2]),
        ("feedback.score = 2", [3]),
        ("feedback.tone = 'yes'", [3]),
        ("feedback.tone LIKE '%ye%'", [3]),
        ("feedback.tone LIKE '%YE%'", []),
        ("feedback.tone ILIKE '%YE%'", [3]),
        ("feedback.tone RLIKE '^\"y'", [3]),
        ("feedback.correct IS NULL", [2, 3, 4]),
        ("feedback.correct IS NOT NULL", [0, 1]),
        ("expectation.gt = 'Paris'", [0]),
        ("expectation.gt LIKE '%Rome%'", [1]),
        ("expectation.gt IS NOT NULL", [0, 1, 4]),
        ("feedback.gt IS NOT NULL", []),  # kinds are separate
        ("expectation.correct = 'true'", []),
        ("feedback.correct = 'true' OR feedback.score > 1", [0, 3]),
        ("NOT feedback.correct IS NULL AND expectation.gt = 'Paris'", [0]),
        ("feedback.nobody = 'x'", []),
        ("expectation.gt = 'Zürich 😀'", [4]),
    ],
)
def test_assessment_filters(assessed: list[str], filter_string: str, expected: list[int]) -> None:
    assert _matches(filter_string) == sorted(assessed[i] for i in expected)


@pytest.mark.parametrize(
    "filter_string",
    ["feedback.x IN ('a')", "feedback.x NOT IN ('a')", "feedback.x > 'abc'", "expectation = 'a'"],
)
def test_bad_assessment_filters_raise(filter_string: str) -> None:
    with pytest.raises(ValueError):
        mlflow.search_traces(filter_string=filter_string)


def _old_file(path: Path) -> None:
    """A store file as the previous schema version made it, holding one trace."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_ms INTEGER)")
    m001_initial(conn)
    conn.execute("INSERT INTO _migrations VALUES ('m001_initial', 0)")
    conn.execute(
        "INSERT INTO traces (request_id, experiment_id, name, timestamp_ms, status) "
        "VALUES ('tr-old', 0, 'old', 1, 'OK')"
    )
    conn.close()


def test_an_older_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_file(path)
    store = SqliteStore(str(path))
    try:
        logged = store.create_assessment(Feedback(name="n", value=1, trace_id="tr-old"))
        assert store.get_assessment("tr-old", logged.assessment_id).value == 1
        trace = store.get_trace("tr-old")
        assert trace is not None and [a.name for a in trace.info.assessments] == ["n"]
    finally:
        store.close()
    conn = sqlite3.connect(path)
    names = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    assert {"m001_initial", "m002_assessments"} <= names
    assert {"assessments_request", "assessments_name"} <= indexes


def test_an_older_file_as_the_destination(tmp_path: Path) -> None:
    path = tmp_path / "old2.db"
    _old_file(path)
    mlflow.set_destination(f"sqlite:///{path}")
    mlflow.log_expectation(trace_id="tr-old", name="gt", value=3)
    assert _matches("expectation.gt = 3") == ["tr-old"]


@pytest.mark.parametrize(
    "name",
    ["a.b", "with space", "quote'd", 'dq"x', "ünïcödé", "emoji 😀", "x" * 300, "%_*?["],
)
def test_odd_names_round_trip_and_filter(name: str) -> None:
    (trace_id,) = _trace_ids(1)
    fb = mlflow.log_feedback(trace_id=trace_id, name=name, value="v")
    assert mlflow.get_assessment(trace_id, fb.assessment_id).name == name
    escaped = name.replace("`", "``")
    assert _matches(f"feedback.`{escaped}` = 'v'") == [trace_id]


def test_lone_surrogates_are_stored() -> None:
    (trace_id,) = _trace_ids(1)
    bad = "x\ud800y"
    fb = mlflow.log_feedback(
        trace_id=trace_id, name=bad, value={"k": bad}, rationale=bad, metadata={bad: bad}
    )
    got = mlflow.get_assessment(trace_id, fb.assessment_id)
    fixed = "x\ufffdy"  # lone surrogates cannot be encoded as UTF-8: replaced
    assert got.value == {"k": fixed}
    assert got.metadata == {fixed: fixed}
    assert (got.name, got.rationale) == (fixed, fixed)
    df = mlflow.search_traces()
    assert len(df.loc[0, "assessments"]) == 1
    with pytest.raises(MlflowException):
        mlflow.get_assessment(bad, "a-\udfff")  # an id that cannot exist: a clean error


def test_huge_values() -> None:
    (trace_id,) = _trace_ids(1)
    big = "z" * 2_000_000
    fb = mlflow.log_expectation(trace_id=trace_id, name="big", value={"text": big})
    assert mlflow.get_assessment(trace_id, fb.assessment_id).value == {"text": big}
    with pytest.raises(MlflowException, match="at most"):
        mlflow.log_expectation(trace_id=trace_id, name="too big", value="y" * 17_000_000)
    with pytest.raises(MlflowException, match="too large"):
        mlflow.log_feedback(trace_id=trace_id, name="int", value=10**400)


def test_unstorable_values_raise_mlflow_exception() -> None:
    (trace_id,) = _trace_ids(1)
    with pytest.raises(MlflowException):
        mlflow.log_feedback(trace_id=trace_id, name="obj", value=object())
    with pytest.raises(MlflowException):
        mlflow.log_expectation(trace_id=trace_id, name="set", value={1, 2})
    with pytest.raises(MlflowException, match="Invalid assessment source type"):
        AssessmentSource(source_type="ROBOT")
    with pytest.raises(MlflowException, match="must be specified"):
        Expectation(name="x", value=None)


def test_writes_from_many_threads_while_traces_are_written() -> None:
    ids = _trace_ids(20)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for trace_id in ids:
                answer(k)  # keeps the background writer busy meanwhile
                mlflow.log_feedback(trace_id=trace_id, name=f"w{k}", value=k)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for trace_id in ids:
        trace = mlflow.get_trace(trace_id)
        assert trace is not None
        assert sorted(a.name for a in trace.info.assessments) == ["w0", "w1", "w2", "w3"]


def test_in_memory_store() -> None:
    from mlflow_trace_nb.tracing.destination import LocalStore

    mlflow.set_destination([LocalStore(":memory:")])
    (trace_id,) = _trace_ids(1)
    fb = mlflow.log_feedback(trace_id=trace_id, name="x", value=1)
    assert _matches("feedback.x = 1") == [trace_id]
    assert mlflow.get_assessment(trace_id, fb.assessment_id) == fb


def test_many_traces_without_assessments_read_none(db_path: Path) -> None:
    ids = _trace_ids(50)
    traces = mlflow.search_traces(return_type="list")
    assert len(traces) == len(ids) and all(t.info.assessments == [] for t in traces)
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM assessments").fetchone() == (0,)
    conn.close()


def test_a_store_that_cannot_be_written_raises_mlflow_exception(db_path: Path) -> None:
    (trace_id,) = _trace_ids(1)
    mlflow.flush()
    blocker = sqlite3.connect(db_path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    store = SqliteStore(str(db_path))
    try:
        store._writer().execute("PRAGMA busy_timeout = 50")
        with pytest.raises(MlflowException, match="Could not write the assessment"):
            store.create_assessment(Feedback(name="x", value=1, trace_id=trace_id))
    finally:
        blocker.rollback()
        blocker.close()
        store.close()
    assert mlflow.log_feedback(trace_id=trace_id, name="x", value=1).assessment_id
