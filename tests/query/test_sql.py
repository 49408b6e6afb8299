"""Compiled filters and orderings run against a real migrated SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlflow_trace_nb.query import compile_filter, compile_order_by
from mlflow_trace_nb.query.parser import MAX_CONDITIONS, MAX_DEPTH
from mlflow_trace_nb.query.sql import like_patterns
from mlflow_trace_nb.store.migrations import migrate

INJECTED_KEY = "a'; DROP TABLE traces; --"
# request_id, experiment_id, name, timestamp_ms, execution_time_ms, status
TRACES = [
    ("tr-1", 0, "chat", 1000, 50, "OK"),
    ("tr-2", 0, "Chat", 2000, 500, "ERROR"),
    ("tr-3", 1, "embed[1]*?", 3000, None, "OK"),
    ("tr-4", 1, None, 3000, 10, "IN_PROGRESS"),
    ("tr-5", 2, "a%b_c", 1500, 5, "OK"),
]
TAGS = {
    "tr-1": {"env": "prod", "mlflow.traceName": "chat", "team": "A%B"},
    "tr-2": {"env": "dev"},
    "tr-4": {"env": "prod", "note": "it's"},
    "tr-5": {"team": "AxB", INJECTED_KEY: "x"},
}
METADATA = {"tr-1": {"user": "alice"}, "tr-2": {"user": "bob"}, "tr-4": {"user": "Alice"}}
# request_id, span_id, name, span_type, status_code, attributes
SPANS = [
    ("tr-1", "s1", "chat", "CHAIN", "OK", {"llm.token_count": 120, "model": "gpt-4"}),
    ("tr-2", "s2", "retrieve", "RETRIEVER", "OK", {"k": 5}),
    ("tr-2", "s3", "llm", "LLM", "ERROR", {"model": "GPT-4", "llm.token_count": 3000}),
    ("tr-4", "s4", "tool", "TOOL", "UNSET", {"score": 0.5, "model": None}),
    ("tr-5", "s5", "step", None, "OK", {"n": "5"}),
]
NEWEST_FIRST = ["tr-4", "tr-3", "tr-2", "tr-5", "tr-1"]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(tmp_path / "traces.db", isolation_level=None)
    migrate(conn)
    for request_id, experiment_id, name, ts, duration, status in TRACES:
        conn.execute(
            "INSERT INTO traces (request_id, experiment_id, name, timestamp_ms, "
            "execution_time_ms, status, tags, request_metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                request_id,
                experiment_id,
                name,
                ts,
                duration,
                status,
                json.dumps(TAGS.get(request_id, {})),
                json.dumps(METADATA.get(request_id, {})),
            ),
        )
    for table, pairs in (("trace_tags", TAGS), ("trace_metadata", METADATA)):
        for request_id, mapping in pairs.items():
            for key, value in mapping.items():
                conn.execute(f"INSERT INTO {table} VALUES (?, ?, ?)", (request_id, key, value))
    for request_id, span_id, name, span_type, status, attributes in SPANS:
        conn.execute(
            "INSERT INTO spans (request_id, span_id, name, span_type, start_time_ns, "
            "status_code, attributes) VALUES (?, ?, ?, ?, 0, ?, ?)",
            (request_id, span_id, name, span_type, status, json.dumps(attributes)),
        )
    yield conn
    conn.close()


def search(
    conn: sqlite3.Connection, filter_string: str | None, order_by: list[str] | None = None
) -> list[str]:
    where, params = compile_filter(filter_string)
    sql = f"SELECT t.request_id FROM traces t WHERE {where} ORDER BY {compile_order_by(order_by)}"
    return [row[0] for row in conn.execute(sql, params)]


def tables(conn: sqlite3.Connection) -> set[str]:
    return {
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    }


CASES = [
    (None, NEWEST_FIRST),
    ("", NEWEST_FIRST),
    ("   \n\t", NEWEST_FIRST),
    # trace attributes, every prefix spelling
    ("status = 'OK'", ["tr-3", "tr-5", "tr-1"]),
    ("attributes.status = 'OK'", ["tr-3", "tr-5", "tr-1"]),
    ("attribute.STATUS = 'OK'", ["tr-3", "tr-5", "tr-1"]),
    ('trace.status = "OK"', ["tr-3", "tr-5", "tr-1"]),
    ("status = 'ok'", []),
    ("status != 'OK'", ["tr-4", "tr-2"]),
    ("status <> 'OK'", ["tr-4", "tr-2"]),
    ("name = 'chat'", ["tr-1"]),
    ("name != 'chat'", ["tr-3", "tr-2", "tr-5"]),
    ("NOT name = 'chat'", ["tr-4", "tr-3", "tr-2", "tr-5"]),
    ("name IS NULL", ["tr-4"]),
    ("name IS NOT NULL", ["tr-3", "tr-2", "tr-5", "tr-1"]),
    ("timestamp_ms > 1500", ["tr-4", "tr-3", "tr-2"]),
    ("timestamp >= 1.5e3", ["tr-4", "tr-3", "tr-2", "tr-5"]),
    ("timestamp_ms<=1000", ["tr-1"]),
    ("execution_time_ms < 1E2", ["tr-4", "tr-5", "tr-1"]),
    ("execution_time_ms >= 5e+2", ["tr-2"]),
    ("execution_time_ms IS NULL", ["tr-3"]),
    ("execution_time_ms IN (5, 10.0)", ["tr-4", "tr-5"]),
    ("trace_id = 'tr-2'", ["tr-2"]),
    ("attributes.request_id IN ('tr-1', 'tr-5', 'nope')", ["tr-5", "tr-1"]),
    ("request_id NOT IN ('tr-1', 'tr-5')", ["tr-4", "tr-3", "tr-2"]),
    ("experiment_id = '1'", ["tr-4", "tr-3"]),
    ("experiment_id = 1", ["tr-4", "tr-3"]),
    ("experiment_id IN ('0', 2)", ["tr-2", "tr-5", "tr-1"]),
    ("experiment_id > 0", ["tr-4", "tr-3", "tr-5"]),
    # tags and metadata
    ("tags.env = 'prod'", ["tr-4", "tr-1"]),
    ("TAG.env = 'prod'", ["tr-4", "tr-1"]),
    ("tags.ENV = 'prod'", []),
    ("tags.env != 'prod'", ["tr-2"]),
    ("NOT tags.env = 'prod'", ["tr-3", "tr-2", "tr-5"]),
    ("tags.env IS NULL", ["tr-3", "tr-5"]),
    ("tags.env IS NOT NULL", ["tr-4", "tr-2", "tr-1"]),
    ("tags.env IN ('dev', 'prod')", ["tr-4", "tr-2", "tr-1"]),
    ("tags.env NOT IN ('prod')", ["tr-2"]),
    ("tags.`mlflow.traceName` = 'chat'", ["tr-1"]),
    ("tags.mlflow.traceName = 'chat'", ["tr-1"]),
    ("tags.note = 'it''s'", ["tr-4"]),
    ("tags.note = 'it\\'s'", ["tr-4"]),
    ('tags.note = "it\'s"', ["tr-4"]),
    ("tags.team LIKE 'A\\%B'", ["tr-1"]),
    ("tags.team LIKE 'A_B'", ["tr-5", "tr-1"]),
    ("metadata.user = 'alice'", ["tr-1"]),
    ("request_metadata.user ILIKE 'ALICE'", ["tr-4", "tr-1"]),
    ("metadata.user LIKE 'a%'", ["tr-1"]),
    ("metadata.user NOT LIKE 'a%'", ["tr-4", "tr-2"]),
    ("metadata.user NOT ILIKE 'a%'", ["tr-2"]),
    ("metadata.user IS NULL", ["tr-3", "tr-5"]),
    # LIKE is case-sensitive, ILIKE is not; GLOB metacharacters are literal
    ("name LIKE 'chat'", ["tr-1"]),
    ("name LIKE 'C%'", ["tr-2"]),
    ("name LIKE '%hat'", ["tr-2", "tr-1"]),
    ("name ILIKE 'c%'", ["tr-2", "tr-1"]),
    ("name ILIKE 'CHAT'", ["tr-2", "tr-1"]),
    ("name NOT LIKE 'c%'", ["tr-3", "tr-2", "tr-5"]),
    ("name NOT ILIKE 'c%'", ["tr-3", "tr-5"]),
    ("name LIKE 'embed[%'", ["tr-3"]),
    ("name LIKE '%*%'", ["tr-3"]),
    ("name LIKE '%?'", ["tr-3"]),
    ("name LIKE '%]%'", ["tr-3"]),
    ("name LIKE 'embed[1]*?'", ["tr-3"]),
    ("name LIKE '_hat'", ["tr-2", "tr-1"]),
    ("name LIKE 'a\\%b\\_c'", ["tr-5"]),
    ("name LIKE 'a\\\\%b%'", ["tr-5"]),
    ("name LIKE 'a\\%x%'", []),
    ("name LIKE 'a_b_c'", ["tr-5"]),
    # spans
    ("span.name = 'llm'", ["tr-2"]),
    ("span.type = 'TOOL'", ["tr-4"]),
    ("span.status = 'ERROR'", ["tr-2"]),
    ("SPAN.TYPE IN ('LLM', 'TOOL')", ["tr-4", "tr-2"]),
    ("span.type NOT IN ('LLM')", ["tr-4", "tr-2", "tr-1"]),
    ("span.name LIKE 'r%'", ["tr-2"]),
    ("span.name ILIKE 'TOOL'", ["tr-4"]),
    ("NOT span.status = 'OK'", ["tr-4", "tr-3"]),
    # span attributes
    ("span.attributes.`llm.token_count` > 1000", ["tr-2"]),
    ("span.attributes.llm.token_count >= 120", ["tr-2", "tr-1"]),
    ("span.attribute.model = 'gpt-4'", ["tr-1"]),
    ("span.attributes.model ILIKE 'gpt-4'", ["tr-2", "tr-1"]),
    ("span.attributes.model LIKE 'GPT%'", ["tr-2"]),
    ("span.attributes.model IN ('gpt-4', 'nope')", ["tr-1"]),
    ("span.attributes.score = 0.5", ["tr-4"]),
    ("span.attributes.score = 5e-1", ["tr-4"]),
    ("span.attributes.n = '5'", ["tr-5"]),
    ("span.attributes.n = 5", []),
    ("span.attributes.k = 5", ["tr-2"]),
    ("span.attributes.Model = 'gpt-4'", []),
    ("span.attributes.model IS NULL", ["tr-4", "tr-3", "tr-5"]),
    ("span.attributes.model IS NOT NULL", ["tr-2", "tr-1"]),
    # precedence, NOT, nesting
    ("status = 'ERROR' OR status = 'OK' AND tags.env = 'prod'", ["tr-2", "tr-1"]),
    ("(status = 'ERROR' OR status = 'OK') AND tags.env = 'prod'", ["tr-1"]),
    ("NOT status = 'OK' AND tags.env = 'prod'", ["tr-4"]),
    ("NOT (status = 'OK' AND tags.env = 'prod')", ["tr-4", "tr-3", "tr-2", "tr-5"]),
    ("NOT NOT status = 'OK'", ["tr-3", "tr-5", "tr-1"]),
    ("((status = 'OK') AND ((tags.env = 'prod') OR (experiment_id = 2)))", ["tr-5", "tr-1"]),
    ("status = 'OK' and not tags.team in ('AxB') or name is null", ["tr-4", "tr-3", "tr-1"]),
    ("span.type = 'LLM' OR span.type = 'TOOL' OR tags.team = 'AxB'", ["tr-4", "tr-2", "tr-5"]),
    # injection attempts are data
    ("status = 'x'' OR 1=1 --'", []),
    ("status = 'OK'' OR ''1''=''1'", []),
    ("tags.`a'; DROP TABLE traces; --` = 'x'", ["tr-5"]),
    ("name = '\"; DROP TABLE spans; --'", []),
    ("span.attributes.`') OR 1=1; --` = 1", []),
]


@pytest.mark.parametrize(("filter_string", "expected"), CASES)
def test_filter_returns_expected_traces(
    db: sqlite3.Connection, filter_string: str | None, expected: list[str]
) -> None:
    assert search(db, filter_string) == expected


@pytest.mark.parametrize(
    "filter_string", [c[0] for c in CASES if c[0] and c[0].strip() and "DROP" not in c[0]]
)
def test_not_is_the_exact_complement(db: sqlite3.Connection, filter_string: str) -> None:
    matched = search(db, filter_string)
    negated = search(db, f"NOT ({filter_string})")
    assert negated == [r for r in NEWEST_FIRST if r not in matched]


def test_empty_filter_compiles_to_true() -> None:
    assert compile_filter(None) == ("1", [])
    assert compile_filter("  ") == ("1", [])


def test_compiled_sql_shapes() -> None:
    assert compile_filter("status = 'OK'") == ("t.status = ?", ["OK"])
    sql, params = compile_filter("tags.env != 'x'")
    assert sql == (
        "t.request_id IN (SELECT g.request_id FROM trace_tags g WHERE g.key = ? AND g.value != ?)"
    )
    assert params == ["env", "x"]
    sql, params = compile_filter("span.attributes.`a.b` LIKE 'x%'")
    assert "json_extract(s.attributes, ?) LIKE ? ESCAPE '\\'" in sql
    assert params == ['$."a.b"', "x%", '$."a.b"', "x*"]
    sql, params = compile_filter("name ILIKE 'A%'")
    assert (sql, params) == ("lower(t.name) LIKE lower(?) ESCAPE '\\'", ["A%"])


@pytest.mark.parametrize(
    "filter_string",
    [
        "status = 'x'' OR 1=1 --'",
        "tags.`a'; DROP TABLE traces; --` = 'x'",
        "metadata.`k) OR (1=1` IN ('v); DELETE FROM traces; --')",
        "span.attributes.`x') OR 1=1 --` LIKE '%'' OR 1=1 --'",
    ],
)
def test_filter_text_never_reaches_sql(filter_string: str) -> None:
    sql, params = compile_filter(filter_string)
    for fragment in ("OR 1=1", "DROP", "DELETE", "--", "'x'", "(1=1"):
        assert fragment not in sql
    assert any("1=1" in str(p) or "DROP" in str(p) or "DELETE" in str(p) for p in params)


@pytest.mark.parametrize(
    "filter_string",
    [
        "status = 'x' OR 1=1 --",
        "status = 'x' OR 1=1",
        "status = 'OK'; DROP TABLE traces",
        "status = 'x'); DROP TABLE traces; --",
        'span.attributes.`x") OR 1=1 --` = 1',
        "tags.k = 'x' UNION SELECT name FROM sqlite_master",
        "1 = 1",
        "status = x",
    ],
)
def test_injection_attempts_raise_and_leave_tables_intact(
    db: sqlite3.Connection, filter_string: str
) -> None:
    before = tables(db)
    with pytest.raises(ValueError, match=r"^Invalid filter"):
        search(db, filter_string)
    assert tables(db) == before
    assert {"traces", "trace_tags", "trace_metadata", "spans", "experiments"} <= before
    assert db.execute("SELECT count(*) FROM traces").fetchone() == (5,)


def test_tables_intact_after_data_like_injections(db: sqlite3.Connection) -> None:
    before = tables(db)
    for filter_string, _ in CASES:
        search(db, filter_string)
    assert tables(db) == before
    assert db.execute("SELECT count(*) FROM traces").fetchone() == (5,)
    assert db.execute("SELECT count(*) FROM spans").fetchone() == (5,)


def test_many_conditions_and_deep_nesting_run_in_sqlite(db: sqlite3.Connection) -> None:
    wide = " OR ".join(f"tags.env = 'v{i}'" for i in range(MAX_CONDITIONS - 1))
    assert search(db, f"{wide} OR tags.env = 'dev'") == ["tr-2"]
    # Both a '(' and a NOT count as one level; use an even number of NOTs.
    deep = "(NOT " * (MAX_DEPTH // 2) + "status = 'OK'" + ")" * (MAX_DEPTH // 2)
    assert search(db, deep) == ["tr-3", "tr-5", "tr-1"]
    assert search(db, "NOT " * MAX_DEPTH + "span.name LIKE 'l%'") == ["tr-2"]
    values = ", ".join(f"'tr-{i}'" for i in range(5000))
    assert search(db, f"request_id IN ({values})") == NEWEST_FIRST


def test_worst_case_nesting_fits_sqlite_limits(db: sqlite3.Connection) -> None:
    leaf = "span.attributes.x NOT LIKE 'a%'"
    alternating = leaf
    for level in range(MAX_DEPTH):
        alternating = f"({leaf} {'AND' if level % 2 else 'OR'} {alternating})"
    assert search(db, alternating) == []
    wide_and_deep = leaf
    for level in range(MAX_DEPTH // 2):
        joiner = " AND " if level % 2 else " OR "
        others = joiner.join([leaf] * (MAX_CONDITIONS // (MAX_DEPTH // 2) - 1))
        wide_and_deep = f"(NOT {wide_and_deep}{joiner}{others})"
    assert search(db, wide_and_deep) == []  # leaf is false everywhere; the last level is an AND


def test_bad_filter_errors_say_what_and_where(db: sqlite3.Connection) -> None:
    with pytest.raises(ValueError) as info:
        search(db, "status = ")
    assert str(info.value) == "Invalid filter 'status = ': expected a value after '=' at position 9"
    with pytest.raises(ValueError, match=r"expects a number, got 'abc' at position 27$"):
        compile_filter("attributes.timestamp_ms >= 'abc'")


@pytest.mark.parametrize(
    ("order_by", "sql"),
    [
        (None, "t.timestamp_ms DESC, t.rowid DESC"),
        ([], "t.timestamp_ms DESC, t.rowid DESC"),
        (["timestamp_ms"], "t.timestamp_ms ASC, t.rowid ASC"),
        (["attributes.timestamp_ms desc"], "t.timestamp_ms DESC, t.rowid DESC"),
        (
            ["trace.execution_time_ms Asc", "name"],
            "t.execution_time_ms ASC, t.name ASC, t.rowid ASC",
        ),
        (["  status   DESC  "], "t.status DESC, t.rowid DESC"),
        (["trace_id"], "t.request_id ASC, t.rowid ASC"),
        (["attribute.REQUEST_ID DESC"], "t.request_id DESC, t.rowid DESC"),
        (["timestamp DESC"], "t.timestamp_ms DESC, t.rowid DESC"),
    ],
)
def test_compile_order_by(order_by: list[str] | None, sql: str) -> None:
    assert compile_order_by(order_by) == sql


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, NEWEST_FIRST),
        (["timestamp_ms"], ["tr-1", "tr-5", "tr-2", "tr-3", "tr-4"]),  # ties: insertion order
        (["execution_time_ms DESC"], ["tr-2", "tr-1", "tr-4", "tr-5", "tr-3"]),
        (["status", "timestamp_ms DESC"], ["tr-2", "tr-4", "tr-3", "tr-5", "tr-1"]),
        (["request_id DESC"], ["tr-5", "tr-4", "tr-3", "tr-2", "tr-1"]),
    ],
)
def test_order_by_runs(db: sqlite3.Connection, order_by: list[str], expected: list[str]) -> None:
    assert search(db, None, order_by) == expected


@pytest.mark.parametrize(
    ("order_by", "message"),
    [
        (["foo"], "cannot order by 'foo'"),
        (["tags.env"], "cannot order by 'tags.env'"),
        (["timestamp_ms sideways"], "direction must be ASC or DESC, got 'sideways'"),
        (["timestamp_ms DESC extra"], "expected '<key> \\[ASC\\|DESC\\]'"),
        ([""], "expected '<key> \\[ASC\\|DESC\\]'"),
        (["timestamp_ms;DROP"], "cannot order by 'timestamp_ms;DROP'"),
        (["timestamp_ms; DROP TABLE traces"], "expected '<key>"),
        ("timestamp_ms DESC", "must be a list of strings"),
        ([5], "entries must be strings"),
    ],
)
def test_order_by_errors(order_by: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compile_order_by(order_by)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "like", "glob"),
    [
        ("a%b_c", "a%b_c", "a*b?c"),
        ("a\\%b\\_c", "a\\%b\\_c", "a%b_c"),
        ("*?[]", "*?[]", "[*][?][[]]"),
        ("back\\\\slash", "back\\\\slash", "back\\slash"),
        ("trailing\\", "trailing\\\\", "trailing\\"),
        ("\\x", "x", "x"),
    ],
)
def test_like_patterns(pattern: str, like: str, glob: str) -> None:
    assert like_patterns(pattern) == (like, glob)
