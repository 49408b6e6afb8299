"""Turn untrusted span payloads into bounded, JSON-safe values and text.

Inputs, outputs and attributes come from user code (LLM output, arbitrary objects). Every
function here is total: it never raises (bar ``KeyboardInterrupt``/``SystemExit``), never
recurses without bound and caps the size of what it produces, so it is safe on the writer
thread and on the caller's thread alike.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import decimal
import enum
import json
import pathlib
import uuid
from collections import deque
from collections.abc import ItemsView, Iterable, KeysView, Mapping, Set, ValuesView
from itertools import islice
from typing import Any

__all__ = [
    "MAX_BYTES_PREVIEW",
    "MAX_COLLECTION_ITEMS",
    "MAX_DEPTH",
    "MAX_JSON_CHARS",
    "MAX_STRING_CHARS",
    "dumps",
    "dumps_dict",
    "loads",
    "to_jsonable",
]

#: Longest string kept; longer ones are cut and end with ``"…[truncated N chars]"``.
MAX_STRING_CHARS = 100_000
#: Most items kept per list/tuple/set/dict. Lists end with a ``"…[truncated N items]"`` item,
#: dicts with a ``"…[truncated]": "N more items"`` entry.
MAX_COLLECTION_ITEMS = 1_000
#: Deepest container nesting kept; anything deeper becomes ``"…[max depth]"``.
MAX_DEPTH = 32
#: Bytes become ``"<bytes len=N: b'...'>"`` showing the repr of this many leading bytes.
MAX_BYTES_PREVIEW = 64
#: Longest text :func:`dumps` returns; longer JSON becomes a JSON string holding a preview.
MAX_JSON_CHARS = 1_000_000

_DEPTH_MARK = "…[max depth]"
_CIRCULAR = "<circular reference>"
_UNSERIALIZABLE = "<unserializable>"
_BUDGET_MARK = "…[truncated: value too large]"
# Rough output size (chars + items) one conversion may produce; stops shared sub-structures
# (``[[big] * 1000] * 1000``) from exploding. Twice MAX_JSON_CHARS: dumps cuts it anyway.
_BUDGET = 2 * MAX_JSON_CHARS
_MAX_ARRAY_ELEMENTS = 100_000  # numpy elements converted per array
_BIG_INT = 10**4299  # ints of 4300+ digits cannot go through str() or json
_FLAT_ITEMS = 64  # small dicts of scalars take the _flat_dict fast path
_FLAT_CHARS = 10_000
_FLAT_TYPES = frozenset({str, int, float, bool, type(None)})
_FATAL = (KeyboardInterrupt, SystemExit)
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False
)


def _make_c_encoder() -> Any:
    """The C encoder ``_ENCODER.encode`` builds on every call, built once (it is stateless)."""
    try:
        make = json.encoder.c_make_encoder  # type: ignore[attr-defined]
        args = (None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",")
        enc = make(*args, False, False, False)
        ok = "".join(enc({"a": [1, 2.5, None, "é"]}, 0)) == '{"a":[1,2.5,null,"é"]}'
        return enc if ok else None
    except Exception:
        return None


_C_ENCODER = _make_c_encoder()


_encode_str = json.encoder.encode_basestring  # C: quotes and escapes a str


def _encode(obj: object) -> str:
    return "".join(_C_ENCODER(obj, 0)) if _C_ENCODER is not None else _ENCODER.encode(obj)


class _State:
    """Per-call bookkeeping: ids of containers on the current path, and the size budget."""

    __slots__ = ("budget", "path")

    def __init__(self) -> None:
        self.path: set[int] = set()
        self.budget = _BUDGET


_SCALAR_STATE = _State()


def to_jsonable(value: object) -> object:
    """Return a bounded copy of ``value`` made only of dict/list/str/int/float/bool/None."""
    v: Any = value
    try:
        t = type(v)
        if t is dict and len(v) <= _FLAT_ITEMS:
            flat = _flat_dict(v, None)
            if flat is not None:
                return flat
        elif t is str:
            return v if len(v) <= MAX_STRING_CHARS else _str(v, _State())
        elif t in _FLAT_TYPES:  # int/float/bool/None: _conv never touches the state
            return _conv(v, 0, _SCALAR_STATE)
        return _conv(v, 0, _State())
    except _FATAL:
        raise
    except BaseException:
        return _UNSERIALIZABLE


def dumps(value: object) -> str:
    """Serialise ``value`` to compact JSON text, valid for ``json.loads`` and SQLite."""
    v: Any = value
    try:
        t = type(v)
        if t is int and -_BIG_INT < v < _BIG_INT:  # the commonest outputs, without the walk
            return int.__repr__(v)
        if t is str and len(v) <= _FLAT_CHARS and v.isascii():
            return _encode_str(v)
        if t is dict and len(v) <= _FLAT_ITEMS and _C_ENCODER is not None:
            text = _small_dict(v)  # a small dict of scalars: short, no walk needed
            if text is not None:
                return text
        text = _encode(to_jsonable(value))
        if not text.isascii():
            text = fix_surrogates(text)
        return text if len(text) <= MAX_JSON_CHARS else _preview(text)
    except _FATAL:
        raise
    except BaseException as exc:
        return _failure(exc)


def _small_dict(d: dict[Any, Any]) -> str | None:
    """JSON of a small dict of str keys and scalars as it is (no copy), else None. The C
    encoder refuses NaN/infinity and too long ints; long strings take the general path."""
    for k, x in d.items():
        if type(k) is not str or type(x) not in _FLAT_TYPES:
            return None
    try:
        text = "".join(_C_ENCODER(d, 0))
    except (ValueError, TypeError, RecursionError):  # changed meanwhile, or NaN / huge int
        return None
    if len(text) > _FLAT_CHARS:
        return None
    return text if text.isascii() else fix_surrogates(text)


def dumps_dict(d: Mapping[str, object] | None) -> str:
    """Serialise an attribute dict; always a JSON object (``"{}"`` for None or empty)."""
    if d is None or (type(d) is dict and not d):
        return "{}"
    text = dumps(d)
    return text if text.startswith("{") else '{"…[truncated]":' + text + "}"


def loads(text: str | None) -> object:
    """Parse JSON text; None for None, and the text itself if it is not valid JSON."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except Exception:
        return text


def _flat_dict(d: dict[Any, Any], st: _State | None) -> dict[str, object] | None:
    """Fast path: a copy of a small dict of short str keys and plain scalars, else None."""
    out: dict[Any, Any] = d.copy()  # one C call: safe from concurrent mutation
    size = len(out)
    for k, x in out.items():
        t = type(x)
        if type(k) is not str or len(k) > _FLAT_CHARS or t not in _FLAT_TYPES:
            return None
        if t is str:
            if len(x) > _FLAT_CHARS:
                return None
            size += len(x)
        elif (t is float and x - x != 0.0) or (t is int and not -_BIG_INT < x < _BIG_INT):
            return None
    if st is not None:
        st.budget -= size
    return out


def _conv(v: Any, depth: int, st: _State) -> object:
    try:
        t = type(v)
        if t is str:
            if len(v) <= MAX_STRING_CHARS and st.budget >= 0:
                st.budget -= len(v)
                return v
            return _str(v, st)
        if t is int:
            return v if -_BIG_INT < v < _BIG_INT else _big_int(v)
        if t is float:
            if v - v == 0.0:  # finite
                return v
            return "NaN" if v != v else "Infinity" if v > 0 else "-Infinity"
        if t is bool or v is None:
            return v
        if depth >= MAX_DEPTH:
            return _DEPTH_MARK
        if st.budget < 0:
            return _BUDGET_MARK
        if t is dict and depth and len(v) <= _FLAT_ITEMS:  # depth 0: to_jsonable tried it
            flat = _flat_dict(v, st)
            if flat is not None:
                return flat
        key = id(v)
        if key in st.path:
            return _CIRCULAR
        st.path.add(key)
        try:
            if t is dict:
                return _pairs(v.items(), len(v), depth, st)
            if t is list or t is tuple:
                return _items(v, len(v), depth, st)
            return _other(v, t, depth, st)
        finally:
            st.path.discard(key)
    except _FATAL:
        raise
    except BaseException as exc:
        return _placeholder(v, exc)


def _other(v: Any, t: type, depth: int, st: _State) -> object:
    """Slow path: everything that is not an exact str/int/float/bool/None/dict/list/tuple."""
    if isinstance(v, enum.Enum):
        return _conv(v.value, depth + 1, st)
    if isinstance(v, str):
        return _str(str.__str__(v), st)
    if isinstance(v, int):
        return _conv(int.__int__(v), depth + 1, st)
    if isinstance(v, float):
        return _conv(float.__float__(v), depth + 1, st)
    mod = t.__module__ if isinstance(t.__module__, str) else ""
    if mod.startswith("numpy") and hasattr(v, "tolist"):
        return _numpy(v, depth, st)
    if mod.startswith("pandas") and hasattr(v, "head") and hasattr(v, "to_dict"):
        return _pandas(v, depth, st)
    names = getattr(t, "_fields", None)
    if isinstance(v, tuple) and isinstance(names, tuple):  # namedtuple
        return _pairs(zip(names, v, strict=False), len(v), depth, st)
    if isinstance(v, Mapping):
        return _pairs(v.items(), len(v), depth, st)
    if isinstance(v, (list, tuple, deque, KeysView, ValuesView, ItemsView)):
        return _items(v, len(v), depth, st)
    if isinstance(v, Set):
        snap = list(islice(v, MAX_COLLECTION_ITEMS))
        if len(v) <= MAX_COLLECTION_ITEMS:  # big sets keep iteration order: no full sort
            with contextlib.suppress(Exception):
                snap.sort(key=repr)
        return _items(snap, len(v), depth, st)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return _bytes(v)
    if isinstance(v, (_dt.date, _dt.time)):
        return _str(v.isoformat(), st)
    if isinstance(v, _dt.timedelta):
        return _conv(v.total_seconds(), depth + 1, st)
    if isinstance(v, (uuid.UUID, pathlib.PurePath, decimal.Decimal)):
        return _str(str(v), st)
    if isinstance(v, BaseException):
        name = t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
        return {"type": name, "message": _str(str(v), st)}
    if callable(getattr(t, "model_dump", None)):  # pydantic v2
        return _conv(v.model_dump(mode="json"), depth + 1, st)
    if callable(getattr(t, "dict", None)) and hasattr(t, "__fields__"):  # pydantic v1
        return _conv(v.dict(), depth + 1, st)
    if hasattr(t, "__dataclass_fields__"):  # walk fields: dataclasses.asdict deep-copies
        fields = dataclasses.fields(v)
        return _pairs(((f.name, getattr(v, f.name)) for f in fields), len(fields), depth, st)
    if callable(getattr(t, "to_dict", None)):
        return _conv(v.to_dict(), depth + 1, st)
    return _str(repr(v), st)


def _pairs(items: Iterable[Any], total: int, depth: int, st: _State) -> dict[str, object]:
    # Snapshot first: list(islice(dict_items)) runs in C, so other threads cannot interleave.
    snap = list(islice(items, MAX_COLLECTION_ITEMS))
    st.budget -= len(snap)
    out: dict[str, object] = {}
    for k, x in snap:
        if type(k) is str and len(k) <= MAX_STRING_CHARS:
            st.budget -= len(k)
        else:
            k = _key(k, st)
        out[k] = _conv(x, depth + 1, st)
    if total > len(snap):
        out["…[truncated]"] = f"{total - len(snap)} more items"
    return out


def _items(seq: Any, total: int, depth: int, st: _State) -> list[object]:
    snap = list(islice(seq, MAX_COLLECTION_ITEMS))  # one C call for lists: a safe snapshot
    st.budget -= len(snap)
    out = [_conv(x, depth + 1, st) for x in snap]
    if total > len(snap):
        out.append(f"…[truncated {total - len(snap)} items]")
    return out


def _numpy(v: Any, depth: int, st: _State) -> object:
    if int(v.ndim) == 0:
        return _conv(v.tolist(), depth + 1, st)
    n = len(v)
    row = int(v.size) // n if n else 0
    keep = min(n, MAX_COLLECTION_ITEMS, max(1, _MAX_ARRAY_ELEMENTS // max(row, 1)))
    head = v[:keep]  # never tolist() the whole of a huge array
    rows = head.tolist() if row <= _MAX_ARRAY_ELEMENTS else list(head)
    return _items(rows, n, depth, st)


def _pandas(v: Any, depth: int, st: _State) -> object:
    n = len(v)
    head = v.head(MAX_COLLECTION_ITEMS)
    if hasattr(head, "columns"):  # DataFrame
        if len(head.columns) > MAX_COLLECTION_ITEMS:
            head = head.iloc[:, :MAX_COLLECTION_ITEMS]
        return _items(head.to_dict(orient="records"), n, depth, st)
    return _pairs(head.to_dict().items(), n, depth, st)


def _str(s: str, st: _State) -> str:
    if st.budget < 0:
        return _BUDGET_MARK
    if len(s) > MAX_STRING_CHARS:
        s = f"{s[:MAX_STRING_CHARS]}…[truncated {len(s) - MAX_STRING_CHARS} chars]"
    st.budget -= len(s)
    return s


def _key(k: object, st: _State) -> str:
    try:
        s = str.__str__(k) if isinstance(k, str) else str.__str__(str(k))
    except _FATAL:
        raise
    except BaseException as exc:
        s = _placeholder(k, exc)
    return _str(s, st)


def _big_int(v: int) -> str:
    digits = int(v.bit_length() * 0.30103) + 1
    return f"{hex(v)[:66]}…[truncated int of ~{digits} digits]"


def _bytes(v: bytes | bytearray | memoryview) -> str:
    with memoryview(v) as raw, raw.cast("B") as mv:
        return f"<bytes len={mv.nbytes}: {bytes(mv[:MAX_BYTES_PREVIEW])!r}>"


def _placeholder(v: object, exc: BaseException) -> str:
    try:
        text = f"<unserializable {type(v).__name__}: {exc!r}>"
        return text if len(text) <= 1_000 else f"{text[:1_000]}…>"
    except _FATAL:
        raise
    except BaseException:
        return _UNSERIALIZABLE


def fix_surrogates(text: str) -> str:
    """Replace lone surrogates (unencodable as UTF-8) with U+FFFD, joining valid pairs."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _preview(text: str) -> str:
    """A JSON string literal of at most MAX_JSON_CHARS holding the start of ``text``."""
    cut = MAX_JSON_CHARS - 64
    while True:
        out = _encode(f"{text[:cut]}…[truncated {len(text) - cut} chars]")
        if len(out) <= MAX_JSON_CHARS or cut == 0:
            return out
        cut = max(0, cut - (len(out) - MAX_JSON_CHARS))


def _failure(exc: BaseException) -> str:
    try:
        return json.dumps(f"<unserializable: {type(exc).__name__}>")
    except Exception:
        return '"<unserializable>"'
