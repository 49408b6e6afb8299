"""MLflow 3's content keys (span.content, trace.text) and RLIKE, on a real SQLite store."""

from __future__ import annotations

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.query.parser import parse


@pytest.fixture
def traces() -> None:
    @mlflow.trace(name="retrieve")
    def retrieve(q: str) -> list[str]:
        return [f"doc about {q}"]

    @mlflow.trace(name="answer")
    def answer(q: str) -> str:
        retrieve(q)
        return "Paris is the capital of France"

    answer("capitals")
    answer("rivers")
    with mlflow.start_span("tagged") as span:
        span.set_attribute("note", "ID-4711 needs review")


def _names(filter_string: str) -> list[str]:
    found = mlflow.search_traces(
        filter_string=filter_string, order_by=["timestamp_ms ASC"], return_type="list"
    )
    return [t.info.name for t in found]  # type: ignore[union-attr]


@pytest.mark.usefixtures("traces")
def test_span_content_and_trace_text_search_inputs_outputs_and_attributes() -> None:
    assert _names("span.content LIKE '%doc about rivers%'") == ["answer"]
    assert _names("trace.text LIKE '%Paris%'") == ["answer", "answer"]
    assert _names("text ILIKE '%paris%'") == ["answer", "answer"]
    assert _names("attributes.text LIKE '%ID-4711%'") == ["tagged"]
    assert _names("span.content LIKE '%retrieve%' AND trace.text LIKE '%capitals%'") == ["answer"]
    assert _names("NOT trace.text LIKE '%Paris%'") == ["tagged"]


@pytest.mark.usefixtures("traces")
def test_rlike_is_a_regular_expression_search() -> None:
    assert _names(r"span.content RLIKE 'ID-\d{4}'") == ["tagged"]
    assert _names("span.name RLIKE '^ans'") == ["answer", "answer"]
    assert _names("name RLIKE 'tag+ed$'") == ["tagged"]
    assert _names("tags.missing RLIKE 'x'") == []
    assert _names(r"trace.text NOT RLIKE 'zzz'") == ["answer", "answer", "tagged"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("span.content RLIKE '(unclosed'", "invalid RLIKE pattern"),
        ("name RLIKE '(a+)+$'", "exponential time"),  # used to run for minutes, uninterruptible
        (r"span.content RLIKE '(\w+\s*)*x'", "exponential time"),
        ("span.content RLIKE '" + "a" * 1001 + "'", "longer than 1000"),
        ("span.content IN ('a')", "does not apply to span.content"),
        ("trace.text IS NULL", "does not apply to trace.text"),
        ("span.content NOT", "expected LIKE, ILIKE, RLIKE or IN after NOT"),
        ("timestamp_ms RLIKE '1'", "numeric"),
    ],
)
def test_bad_content_filters_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(text)


def test_a_hostile_pattern_is_a_parameter_not_sql() -> None:
    assert _names("span.content RLIKE ''' OR 1=1 --'") == []


@pytest.mark.parametrize("key", ["plain", "a\\b", "tab\tkey", "new\nline", "\x01ctl", "é ü"])
def test_span_attribute_keys_that_json_escapes_are_found(key: str) -> None:
    """A span attribute whose key JSON escapes (a backslash, control characters, a quote)
    is found by ``span.attributes.`key``` filters (they found nothing, silently). (A key
    with a double quote is refused by the parser, with a message.)"""
    with mlflow.start_span("holder") as span:
        span.set_attribute(key, "val")
    with mlflow.start_span("other") as span:
        span.set_attribute(key, "other")
    mlflow.flush()
    quoted = key.replace("'", "''")
    assert _names(f"span.attributes.`{quoted}` = 'val'") == ["holder"]
    assert sorted(_names(f"span.attributes.`{quoted}` IS NOT NULL")) == ["holder", "other"]
    assert _names(f"span.attributes.`{quoted}` LIKE 'oth%'") == ["other"]
