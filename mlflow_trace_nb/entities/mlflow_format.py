"""MLflow 3's wire format for spans and trace summaries, as pure functions on plain values.

A span dict as ``mlflow.entities.Span.to_dict`` writes it: ids base64 of their bytes,
``start_time_unix_nano``/``end_time_unix_nano``, ``status: {code: STATUS_CODE_*, message}``,
events with ``time_unix_nano``, and every attribute JSON-encoded (``json.dumps``), the
span's type, inputs, outputs and trace id among them (``mlflow.spanType``...). The older
layouts MLflow still reads (v2: ``context``/``start_time``; 3.5: hex ids) are read too.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb.entities.span_event import SpanEvent
from mlflow_trace_nb.entities.span_status import SpanStatus
from mlflow_trace_nb.errors import MlflowException

__all__ = [
    "RESERVED_ATTRIBUTES",
    "decode_attribute",
    "decode_id",
    "dump_attribute",
    "encode_id",
    "format_request_time",
    "parse_request_time",
    "span_fields",
]

#: Span attributes that carry a span field (decoded into it, not kept as attributes).
RESERVED_ATTRIBUTES = frozenset(
    {keys.TRACE_REQUEST_ID, keys.SPAN_TYPE, keys.SPAN_INPUTS, keys.SPAN_OUTPUTS}
)


_encode = json.JSONEncoder(ensure_ascii=False, default=str).encode


def dump_attribute(value: Any) -> str:
    """An attribute value as MLflow stores it: JSON text (unserialisable objects as str)."""
    try:
        return _encode(value)
    except (TypeError, ValueError):
        return _encode(str(value))


def decode_attribute(raw: Any) -> Any:
    """Inverse of ``dump_attribute``; a value that is not JSON text is returned as is."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def encode_id(hex_id: str) -> str:
    """A hex id (``tr-`` prefix allowed) as base64 of its bytes, as MLflow's span dicts."""
    return base64.b64encode(bytes.fromhex(hex_id.removeprefix("tr-"))).decode("ascii")


def decode_id(value: str, width: int) -> str:
    """A span dict's id (base64 of the bytes, hex already, or MLflow 2's ``0x`` + hex) as
    ``width`` hex digits."""
    text = value.removeprefix("tr-")
    if len(text) == width + 2 and text[:2] == "0x":  # MLflow 2 (``context.span_id``)
        text = text[2:]
    if len(text) == width and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    try:
        return base64.b64decode(text, validate=True).hex().rjust(width, "0")
    except (binascii.Error, ValueError):
        return text


def format_request_time(ms: int) -> str:
    """Milliseconds since the epoch as protobuf's JSON timestamp (``...T01:02:03.456Z``)."""
    moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_request_time(value: Any) -> int:
    """Inverse of ``format_request_time`` (an int passes through)."""
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).rstrip("Z")
    base, _, fraction = text.partition(".")
    moment = dt.datetime.fromisoformat(base).replace(tzinfo=dt.UTC)
    millis = int((fraction + "000")[:3]) if fraction else 0
    return int(moment.timestamp()) * 1000 + millis


def span_fields(data: dict[str, Any]) -> dict[str, Any]:
    """``Span.__init__`` keywords from any of the span dict layouts ``from_dict`` reads."""
    if "span_type" in data and "status_code" in data and "context" not in data:  # ours, flat
        return {
            "name": str(data["name"]),
            "span_id": str(data["span_id"]),
            "trace_id": str(data["trace_id"]),
            "parent_id": data.get("parent_id"),
            "span_type": data.get("span_type"),
            "start_time_ns": int(data["start_time_ns"]),
            "end_time_ns": data.get("end_time_ns"),
            "status_code": str(data.get("status_code") or "UNSET"),
            "status_message": str(data.get("status_message") or ""),
            "inputs": data.get("inputs"),
            "outputs": data.get("outputs"),
            "attributes": dict(data.get("attributes") or {}),
            "events": [SpanEvent.from_dict(e) for e in data.get("events") or []],
        }
    raw = dict(data.get("attributes") or {})
    trace_id = decode_attribute(raw.get(keys.TRACE_REQUEST_ID))
    if not trace_id:
        raise MlflowException(f"The {keys.TRACE_REQUEST_ID} attribute is empty or missing.")
    if "context" in data:  # MLflow 2
        span_id = decode_id(str(data["context"]["span_id"]), 16)
        parent, start, end = data.get("parent_id"), data["start_time"], data.get("end_time")
        status = SpanStatus(data.get("status_code") or "UNSET", data.get("status_message") or "")
    else:
        span_id = decode_id(str(data["span_id"]), 16)
        parent = data.get("parent_span_id")
        start, end = data["start_time_unix_nano"], data.get("end_time_unix_nano")
        status_dict = data.get("status") or {}
        status = SpanStatus(status_dict.get("code") or "UNSET", status_dict.get("message") or "")
    span_type = decode_attribute(raw.get(keys.SPAN_TYPE))
    return {
        "name": str(data["name"]),
        "span_id": span_id,
        "trace_id": str(trace_id),
        "parent_id": decode_id(str(parent), 16) if parent else None,
        "span_type": span_type,
        "start_time_ns": int(start),
        "end_time_ns": int(end) if end else None,
        "status_code": status.status_code.value,
        "status_message": status.description,
        "inputs": decode_attribute(raw.get(keys.SPAN_INPUTS)),
        "outputs": decode_attribute(raw.get(keys.SPAN_OUTPUTS)),
        "attributes": {
            k: decode_attribute(v) for k, v in raw.items() if k not in RESERVED_ATTRIBUTES
        },
        "events": [SpanEvent.from_dict(e) for e in data.get("events") or []],
    }
