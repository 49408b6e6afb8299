"""JSON helpers of ``query.span_rows`` and ``query.frame_rows``: encoding as ``json.dumps``
writes it (``ensure_ascii=False``) with the C encoder built once, and the C scanner."""

from __future__ import annotations

import json
import json.scanner
from typing import Any

__all__ = ["C_ENCODE", "ENCODE", "dump", "encode", "quote", "scan"]

#: ``json.dumps(value, ensure_ascii=False)``.
ENCODE = json.JSONEncoder(ensure_ascii=False).encode
quote = json.encoder.encode_basestring
scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def _make_c_encoder() -> Any:
    """The C encoder ``ENCODE`` builds on every call, built once (None without it): for
    decoded JSON values (no cycles, nothing to default) its output is ``ENCODE``'s."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    c_encode = make(None, None, quote, None, ": ", ", ", False, False, True)
    sample = {"a": [1, 2.5, None, "é", float("nan")], "b": "x"}
    return c_encode if "".join(c_encode(sample, 0)) == ENCODE(sample) else None


C_ENCODE = _make_c_encoder()


def encode(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False)`` of a decoded JSON value."""
    if C_ENCODE is None:
        return str(ENCODE(value))
    return "".join(C_ENCODE(value, 0))


def dump(value: Any) -> str:
    """``mlflow_format.dump_attribute`` for a decoded JSON value."""
    kind = type(value)
    if kind is str:
        return str(quote(value))
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    return encode(value)
