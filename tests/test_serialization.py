"""Tests for mlflow_trace_nb._internal.serialization: every value becomes bounded, valid JSON."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import pathlib
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, NamedTuple

import pytest

from mlflow_trace_nb._internal.serialization import (
    MAX_BYTES_PREVIEW,
    MAX_COLLECTION_ITEMS,
    MAX_DEPTH,
    MAX_JSON_CHARS,
    MAX_STRING_CHARS,
    dumps,
    dumps_dict,
    loads,
    to_jsonable,
)

_DB = sqlite3.connect(":memory:", check_same_thread=False)


def assert_plain(value: object) -> None:
    """Assert ``value`` holds only exact dict (str keys)/list/str/int/finite float/bool/None."""
    if isinstance(value, dict):
        assert type(value) is dict
        for k, v in value.items():
            assert type(k) is str
            assert_plain(v)
    elif isinstance(value, list):
        assert type(value) is list
        for v in value:
            assert_plain(v)
    elif isinstance(value, float):
        assert type(value) is float and math.isfinite(value)
    else:
        assert type(value) in (str, int, bool, type(None)), type(value)


def check(value: object) -> Any:
    """dumps(value), asserted valid for json.loads and SQLite; returns the parsed JSON."""
    assert_plain(to_jsonable(value))
    out = dumps(value)
    assert isinstance(out, str)
    assert len(out) <= MAX_JSON_CHARS
    assert _DB.execute("select json_valid(?)", (out,)).fetchone()[0] == 1
    return json.loads(out)


def depth_of(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


class BadRepr:
    def __repr__(self) -> str:
        raise ValueError("boom")


class BadStr:
    def __str__(self) -> str:
        raise ValueError("no str")

    def __repr__(self) -> str:
        raise ValueError("no repr")

    def __hash__(self) -> int:
        return 1


class Color(enum.Enum):
    RED = "red"
    BLUE = (1, 2)


class Level(enum.IntEnum):
    HIGH = 3


class Point(NamedTuple):
    x: int
    y: float


@dataclasses.dataclass
class Inner:
    name: str
    when: dt.date


@dataclasses.dataclass
class Outer:
    inner: Inner
    tags: list[str]
    score: float = math.nan


# Scalars --------------------------------------------------------------------------------


def test_plain_scalars_pass_through() -> None:
    for value in ["hello", "", 0, -5, 2**62, 1.5, True, False, None]:
        result = to_jsonable(value)
        assert result == value
        assert type(result) is type(value)
    assert check({"query": "hello world", "top_k": 5}) == {"query": "hello world", "top_k": 5}
    assert dumps({"a": [1, 2.5, None, True]}) == '{"a":[1,2.5,null,true]}'


def test_fast_path_returns_a_copy() -> None:
    d = {"a": 1}
    out = to_jsonable(d)
    assert out == d and out is not d


def test_nan_and_infinities() -> None:
    assert to_jsonable(math.nan) == "NaN"
    assert to_jsonable(math.inf) == "Infinity"
    assert to_jsonable(-math.inf) == "-Infinity"
    data = {"a": math.nan, "b": [math.inf, -math.inf, 1.0]}
    assert check(data) == {"a": "NaN", "b": ["Infinity", "-Infinity", 1.0]}
    assert dumps([math.nan, -math.inf]) == '["NaN","-Infinity"]'


def test_huge_ints() -> None:
    big = 10**4298  # 4299 digits: kept
    assert to_jsonable(big) == big
    assert check(big) == big
    huge = 10**5000
    out = to_jsonable(huge)
    assert isinstance(out, str) and "…[truncated int of ~" in out
    assert isinstance(check([huge, -huge]), list)


def test_str_int_float_subclasses_become_exact_types() -> None:
    class S(str):
        pass

    class F(float):
        pass

    assert type(to_jsonable(S("x"))) is str
    assert to_jsonable(Level.HIGH) == 3 and type(to_jsonable(Level.HIGH)) is int
    assert type(to_jsonable(F(1.5))) is float
    assert to_jsonable(F("nan")) == "NaN"


# Keys -----------------------------------------------------------------------------------


def test_non_string_keys() -> None:
    data = {1: "int", (1, 2): "tuple", None: "none", 2.5: "float", False: "bool"}
    assert check(data) == {
        "1": "int",
        "(1, 2)": "tuple",
        "None": "none",
        "2.5": "float",
        "False": "bool",
    }


def test_key_whose_str_raises() -> None:
    out = to_jsonable({BadStr(): 1, "ok": 2})
    assert isinstance(out, dict)
    assert out["ok"] == 2
    bad_keys = [k for k in out if k != "ok"]
    assert bad_keys == ["<unserializable BadStr: ValueError('no str')>"]
    check({BadStr(): 1})


# Cycles and sharing ---------------------------------------------------------------------


def test_circular_list_and_dict() -> None:
    lst: list[Any] = [1]
    lst.append(lst)
    assert to_jsonable(lst) == [1, "<circular reference>"]
    d: dict[str, Any] = {"a": 1}
    d["self"] = d
    d["nested"] = {"back": d}
    assert check(d) == {
        "a": 1,
        "self": "<circular reference>",
        "nested": {"back": "<circular reference>"},
    }


def test_same_object_twice_is_not_circular() -> None:
    shared = {"x": [1, 2]}
    assert check([shared, shared, {"again": shared}]) == [
        {"x": [1, 2]},
        {"x": [1, 2]},
        {"again": {"x": [1, 2]}},
    ]


def test_shared_substructures_do_not_explode() -> None:
    level: Any = "x" * 1_000
    for _ in range(5):  # 1000**5 leaves if expanded naively
        level = [level] * 1_000
    start = time.perf_counter()
    out = dumps(level)
    assert time.perf_counter() - start < 10
    assert len(out) <= MAX_JSON_CHARS
    assert isinstance(check(level), str)


# Failing user code ----------------------------------------------------------------------


def test_repr_that_raises() -> None:
    assert to_jsonable(BadRepr()) == "<unserializable BadRepr: ValueError('boom')>"
    assert check({"a": BadRepr(), "b": 2}) == {
        "a": "<unserializable BadRepr: ValueError('boom')>",
        "b": 2,
    }


def test_placeholder_fallback_when_exception_repr_fails() -> None:
    class NastyError(Exception):
        def __repr__(self) -> str:
            raise RuntimeError("nope")

    class Raiser:
        def __repr__(self) -> str:
            raise NastyError()

    assert to_jsonable(Raiser()) == "<unserializable>"


def test_base_exception_subclass_is_caught_but_keyboard_interrupt_is_not() -> None:
    class Weird(BaseException):
        pass

    class RaisesWeird:
        def __repr__(self) -> str:
            raise Weird("w")

    class RaisesKI:
        def __repr__(self) -> str:
            raise KeyboardInterrupt

    assert to_jsonable([RaisesWeird()]) == ["<unserializable RaisesWeird: Weird('w')>"]
    with pytest.raises(KeyboardInterrupt):
        to_jsonable([RaisesKI()])


def test_infinite_recursion_in_user_code() -> None:
    class Loop:
        def __repr__(self) -> str:
            return repr(self)

    out = to_jsonable({"x": Loop()})
    assert isinstance(out, dict)
    assert out["x"].startswith("<unserializable Loop: RecursionError")


def test_model_dump_duck_typing_and_failing_property() -> None:
    class Model:
        def __init__(self, broken: bool) -> None:
            self.broken = broken

        @property
        def secret(self) -> str:
            if self.broken:
                raise ValueError("property failed")
            return "ok"

        def model_dump(self, mode: str = "python") -> dict[str, Any]:
            assert mode == "json"
            return {"secret": self.secret, "n": math.nan}

    assert check(Model(False)) == {"secret": "ok", "n": "NaN"}
    assert check({"m": Model(True), "z": 1}) == {
        "m": "<unserializable Model: ValueError('property failed')>",
        "z": 1,
    }


def test_pydantic_v1_duck_typing_and_to_dict() -> None:
    class V1:
        __fields__: ClassVar[dict[str, Any]] = {"a": None}

        def dict(self) -> dict[str, Any]:
            return {"a": 1}

    class HasToDict:
        def to_dict(self) -> dict[str, Any]:
            return {"b": [2]}

    class Secretive:
        def __init__(self) -> None:
            self.password = "hunter2"

    assert check(V1()) == {"a": 1}
    assert check(HasToDict()) == {"b": [2]}
    out = to_jsonable(Secretive())
    assert isinstance(out, str) and "hunter2" not in out and "Secretive object" in out


def test_mock_objects_do_not_hang() -> None:
    from unittest import mock

    out = check({"m": mock.MagicMock(), "n": mock.Mock()})
    assert set(out) == {"m", "n"}


def test_mapping_whose_iteration_raises() -> None:
    class Mutating(Mapping[str, int]):
        def __getitem__(self, key: str) -> int:
            return 1

        def __len__(self) -> int:
            return 3

        def __iter__(self) -> Iterator[str]:
            raise RuntimeError("dictionary changed size during iteration")

    assert check({"m": Mutating(), "ok": [1]}) == {
        "m": "<unserializable Mutating: RuntimeError('dictionary changed size during iteration')>",
        "ok": [1],
    }


def test_dict_mutated_by_another_thread() -> None:
    shared: dict[Any, Any] = {i: [i, str(i)] for i in range(2_000)}
    stop = threading.Event()

    def mutate() -> None:
        i = 0
        while not stop.is_set():
            shared[10_000 + i % 500] = {"n": i}
            shared.pop(10_000 + (i + 250) % 500, None)
            i += 1

    thread = threading.Thread(target=mutate, daemon=True)
    thread.start()
    try:
        for _ in range(30):
            out = check({"payload": shared, "list": list(range(3))})
            assert out["list"] == [0, 1, 2]
    finally:
        stop.set()
        thread.join()


# Limits ---------------------------------------------------------------------------------


def test_long_string_truncated_with_exact_marker() -> None:
    text = "a" * 5_000_000
    out = to_jsonable(text)
    cut = 5_000_000 - MAX_STRING_CHARS
    assert out == "a" * MAX_STRING_CHARS + f"…[truncated {cut} chars]"
    assert check({"t": text})["t"] == out


def test_long_list_set_and_dict_truncated() -> None:
    out = to_jsonable(list(range(10_000)))
    assert isinstance(out, list)
    assert len(out) == MAX_COLLECTION_ITEMS + 1
    assert out[:3] == [0, 1, 2]
    assert out[-1] == f"…[truncated {10_000 - MAX_COLLECTION_ITEMS} items]"
    assert check(tuple(range(1_001)))[-1] == "…[truncated 1 items]"
    assert check(set(range(5_000)))[-1] == "…[truncated 4000 items]"
    big = check({f"k{i}": i for i in range(5_000)})
    assert len(big) == MAX_COLLECTION_ITEMS + 1
    assert big["…[truncated]"] == "4000 more items"


def test_deep_nesting_is_cut() -> None:
    value: Any = "leaf"
    for _ in range(100):
        value = [value]
    out = check(value)
    assert depth_of(out) == MAX_DEPTH
    inner = out
    while isinstance(inner, list):
        inner = inner[0]
    assert inner == "…[max depth]"
    d: Any = 1
    for _ in range(100_000):  # far past the interpreter's recursion limit
        d = {"d": d}
    assert depth_of(check(d)) == MAX_DEPTH


def test_dumps_caps_total_size_and_stays_valid() -> None:
    value = ['"\\' * 40_000 for _ in range(200)]  # quote-heavy: escaping doubles it
    out = dumps(value)
    assert len(out) <= MAX_JSON_CHARS
    parsed = check(value)
    assert isinstance(parsed, str)
    assert parsed.startswith('["')
    assert parsed.endswith(" chars]")
    assert "…[truncated " in parsed


# Known types ----------------------------------------------------------------------------


def test_bytes_preview() -> None:
    data = bytes(range(256)) * 4
    preview = repr(data[:MAX_BYTES_PREVIEW])
    assert to_jsonable(data) == f"<bytes len=1024: {preview}>"
    assert to_jsonable(bytearray(b"abc")) == "<bytes len=3: b'abc'>"
    assert to_jsonable(memoryview(b"xyz")) == "<bytes len=3: b'xyz'>"
    check({"b": data})


def test_lock_and_generator_fall_back_to_repr() -> None:
    lock = threading.Lock()
    out = to_jsonable(lock)
    assert isinstance(out, str) and "lock" in out

    def gen() -> Iterator[int]:
        yield 1
        yield 2

    g = gen()
    out = to_jsonable({"g": g})
    assert isinstance(out, dict) and out["g"].startswith("<generator object")
    assert next(g) == 1  # not consumed
    check([lock, g, iter([1]), map(str, [1])])


def test_sets_sorted_by_repr() -> None:
    assert to_jsonable({3, 1, 2}) == [1, 2, 3]
    assert to_jsonable(frozenset({"b", "a"})) == ["a", "b"]
    assert check({1, "1", (1,)}) == ["1", [1], 1]  # "'1'" < "(1,)" < "1"


def test_containers_of_known_types() -> None:
    dq = collections.deque([1, 2])
    od = collections.OrderedDict(b=1, a=2)
    assert check({"dq": dq, "od": od, "keys": od.keys(), "vals": od.values()}) == {
        "dq": [1, 2],
        "od": {"b": 1, "a": 2},
        "keys": ["b", "a"],
        "vals": [1, 2],
    }


def test_dataclass_namedtuple_enum() -> None:
    value = Outer(Inner("n", dt.date(2024, 1, 2)), ["t"])
    assert check(value) == {
        "inner": {"name": "n", "when": "2024-01-02"},
        "tags": ["t"],
        "score": "NaN",
    }
    assert check(Point(1, 2.0)) == {"x": 1, "y": 2.0}
    assert check([Color.RED, Color.BLUE, Level.HIGH]) == ["red", [1, 2], 3]


def test_dataclass_cycle() -> None:
    @dataclasses.dataclass
    class Node:
        child: Any = None

    node = Node()
    node.child = node
    assert check(node) == {"child": "<circular reference>"}


def test_dates_numbers_ids_paths() -> None:
    moment = dt.datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=dt.UTC)
    uid = uuid.UUID(int=7)
    assert check(
        {
            "dt": moment,
            "d": dt.date(2024, 5, 6),
            "t": dt.time(1, 2, 3),
            "td": dt.timedelta(minutes=1, microseconds=500_000),
            "dec": decimal.Decimal("1.10"),
            "dnan": decimal.Decimal("NaN"),
            "uuid": uid,
            "path": pathlib.Path("/tmp/x.txt"),
        }
    ) == {
        "dt": "2024-05-06T07:08:09.000010+00:00",
        "d": "2024-05-06",
        "t": "01:02:03",
        "td": 60.5,
        "dec": "1.10",
        "dnan": "NaN",
        "uuid": str(uid),
        "path": "/tmp/x.txt",
    }


def test_exceptions() -> None:
    class MyError(Exception):
        pass

    assert to_jsonable(ValueError("bad")) == {"type": "ValueError", "message": "bad"}
    out = check({"e": MyError("x")})
    assert out["e"]["message"] == "x"
    assert out["e"]["type"].endswith("test_exceptions.<locals>.MyError")


def test_numpy() -> None:
    np = pytest.importorskip("numpy")
    assert check(np.arange(3)) == [0, 1, 2]
    assert check(np.array([[1.5, np.nan], [np.inf, 0]])) == [[1.5, "NaN"], ["Infinity", 0.0]]
    assert check({"i": np.int64(4), "f": np.float32(0.5), "b": np.bool_(True)}) == {
        "i": 4,
        "f": 0.5,
        "b": True,
    }
    huge = np.broadcast_to(np.float64(1.0), (100_000_000,))  # 100M elements, no memory
    start = time.perf_counter()
    out = check(huge)
    assert time.perf_counter() - start < 2
    assert len(out) == MAX_COLLECTION_ITEMS + 1
    assert out[-1] == f"…[truncated {100_000_000 - MAX_COLLECTION_ITEMS} items]"
    square = check(np.broadcast_to(np.int8(1), (20_000, 20_000)))
    assert isinstance(square, list) and square[-1].startswith("…[truncated ")
    assert all(len(row) == MAX_COLLECTION_ITEMS + 1 for row in square[:-1])


def test_pandas() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [0.5, math.nan]})
    assert check(df) == [{"a": 1, "b": "x", "c": 0.5}, {"a": 2, "b": "y", "c": "NaN"}]
    assert check(pd.Series([1.0, float("nan")], index=["p", "q"])) == {"p": 1.0, "q": "NaN"}
    big = check(pd.DataFrame({"a": range(5_000)}))
    assert len(big) == MAX_COLLECTION_ITEMS + 1
    assert big[-1] == "…[truncated 4000 items]"
    assert check(pd.Timestamp("2024-01-01")) == "2024-01-01T00:00:00"


# Text validity --------------------------------------------------------------------------


def test_lone_surrogates_are_replaced() -> None:
    out = dumps({"s": "a\ud800b", "\udfff": "pair \ud83d\ude00"})
    out.encode("utf-8")  # strict: would raise on a lone surrogate
    assert json.loads(out) == {"s": "a\ufffdb", "\ufffd": "pair \U0001f600"}
    _DB.execute("create table if not exists t (j text)")
    _DB.execute("insert into t values (?)", (out,))
    assert _DB.execute("select json_extract(j, '$.s') from t").fetchone()[0] == "a\ufffdb"
    assert check(["\ud800" * 10]) == ["\ufffd" * 10]


def test_control_and_unicode_characters() -> None:
    text = '\x00\x1f\u2028\u2029é漢字\U0001f600"\\'
    assert check({text: text}) == {text: text}


def test_dumps_dict() -> None:
    assert dumps_dict(None) == "{}"
    assert dumps_dict({}) == "{}"
    assert dumps_dict({"tokens": 5, "model": "gpt"}) == '{"tokens":5,"model":"gpt"}'
    out = dumps_dict({f"k{i}": "x" * 50_000 for i in range(100)})
    assert isinstance(json.loads(out), dict)
    assert _DB.execute("select json_valid(?)", (out,)).fetchone()[0] == 1


def test_loads() -> None:
    assert loads(None) is None
    assert loads('{"a":[1,null]}') == {"a": [1, None]}
    assert loads("not json {") == "not json {"
    assert loads("") == ""


# Fuzz -----------------------------------------------------------------------------------


def _random_value(rng: random.Random, depth: int) -> Any:
    leaves: list[Any] = [
        lambda: rng.randint(-(10**30), 10**30),
        lambda: rng.choice([math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324]),
        lambda: rng.random(),
        lambda: "".join(
            chr(rng.choice([rng.randint(0, 0x7F), rng.randint(0, 0x10FFFF)]))
            for _ in range(rng.randint(0, 12))
        ),
        lambda: rng.choice([None, True, False]),
        lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 80))),
        lambda: rng.choice([BadRepr(), BadStr(), threading.Lock(), Color.RED, Point(1, 2)]),
        lambda: rng.choice([dt.datetime.now(), decimal.Decimal("1e999"), uuid.uuid4()]),
        lambda: ValueError("x" * rng.randint(0, 5)),
    ]
    if depth > 6 or rng.random() < 0.4:
        return rng.choice(leaves)()
    kind = rng.randrange(5)
    children = [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    if kind == 0:
        return children
    if kind == 1:
        return tuple(children)
    if kind == 2:
        keys = [
            rng.choice([rng.random(), str(rng.random()), None, BadStr(), (1, "\ud800")])
            for _ in children
        ]
        return dict(zip(keys, children, strict=True))
    if kind == 3:
        return {rng.choice([1, "a", 2.5, None, (1, "\ud800"), math.nan]) for _ in children}
    return collections.deque(children)


def test_fuzz_nested_random_structures() -> None:
    rng = random.Random(1234)
    for _ in range(1_500):
        value = _random_value(rng, 0)
        if rng.random() < 0.1 and isinstance(value, list):
            value.append(value)  # sprinkle cycles
        check(value)
        check({"wrapped": value, "again": value})


@pytest.mark.parametrize(
    "value",
    [
        {"x": 9, "y": 2},
        {"a": "é", "b": None, "c": True, "d": 1.5},
        {"nan": math.nan, "inf": -math.inf},
        {"big": 10**5000, "small": 1},
        {"huge": 10**100},
        {"lone": "\udcff", "pair": "\ud83d\ude00"},
        {"long": "x" * 20_000, "short": "s"},
        {1: "int key", "s": 2},
        {None: 1, True: 2},
        {"nested": [1, 2], "n": 1},
    ],
)
def test_a_small_dict_encodes_as_the_general_path_does(value: dict[Any, Any]) -> None:
    """The C-encoder fast path for small scalar dicts gives the general path's text."""
    from mlflow_trace_nb._internal.serialization import _encode, fix_surrogates, to_jsonable

    general = _encode(to_jsonable(value))
    assert dumps(value) == fix_surrogates(general)
    json.loads(dumps(value))  # valid JSON
