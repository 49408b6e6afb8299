"""Caps on the text the store writes outside JSON payloads, and the function that enforces them.

Payloads (inputs, outputs, attributes, events) are made safe and bounded by
``_internal.serialization``. Everything else that reaches a ``TEXT`` column goes through
:func:`clean_text` here: span and trace names, span types, status messages, tag and metadata
keys and values, event names. A value that SQLite or UTF-8 cannot take would otherwise fail
the whole write transaction, and with it every other trace of the batch.

What ``clean_text`` does, in this order:

- a value that is not a ``str`` becomes one: an ``Enum`` becomes its value (``SpanType.LLM``
  -> ``"LLM"``), anything else ``str(value)`` (``"<unprintable T>"`` if that raises);
- text longer than its cap is cut and ends with ``"…[truncated N chars]"`` (the result is at
  most the cap);
- lone surrogates (from ``os.fsdecode`` of a non-UTF-8 file name, or JSON cut mid-escape) are
  replaced with U+FFFD; valid surrogate pairs are joined. NUL characters are kept (SQLite
  ``TEXT`` stores them and Python reads them back whole).

Caps, in characters:

========================  ========  ==================================================
constant                  chars     applies to
========================  ========  ==================================================
``MAX_NAME_CHARS``        1,000     span names, trace names, event names, span types
``MAX_MESSAGE_CHARS``     8,000     span status messages
``MAX_KEY_CHARS``         250       tag and request-metadata keys
``MAX_VALUE_CHARS``       8,000     tag and request-metadata values
========================  ========  ==================================================

A trace keeps at most ``MAX_PAIRS`` (1,000) tags and as many request-metadata entries: the
first 999 and a ``"…[truncated]": "N more items"`` entry, the same in the trace's JSON and in
the rows ``tags.<key>`` filters read. (Key and value caps are MLflow's own tag limits.) Plain
short ASCII text, nearly every value
in practice, costs one type check, one length check and one ``isascii()``.
"""

from __future__ import annotations

from typing import Any

from mlflow_trace_nb._internal.serialization import fix_surrogates as _fix_surrogates
from mlflow_trace_nb._internal.text import as_text

__all__ = [
    "MAX_KEY_CHARS",
    "MAX_PAIRS",
    "MAX_MESSAGE_CHARS",
    "MAX_NAME_CHARS",
    "MAX_VALUE_CHARS",
    "clean_int",
    "clean_pairs",
    "clean_text",
    "is_clean",
]

#: Longest span name, trace name, event name or span type kept.
MAX_NAME_CHARS = 1_000
#: Longest span status message kept.
MAX_MESSAGE_CHARS = 8_000
#: Longest tag or request-metadata key kept.
MAX_KEY_CHARS = 250
#: Longest tag or request-metadata value kept.
MAX_VALUE_CHARS = 8_000
#: Most tags (and most request-metadata entries) a trace keeps, a marker entry included.
MAX_PAIRS = 1_000
_MORE = "…[truncated]"

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def is_clean(value: object, cap: int) -> bool:
    """True when ``value`` can be written as is: a plain ASCII ``str`` within ``cap``."""
    return type(value) is str and len(value) <= cap and value.isascii()


def clean_text(value: object, cap: int) -> str:
    """``value`` as text SQLite and UTF-8 accept, at most ``cap`` characters (never raises)."""
    if type(value) is str:
        text: str = value
        if len(text) <= cap and text.isascii():
            return text
    else:
        text = as_text(value)
    if len(text) > cap:
        text = _cut(text, cap)
    if not text.isascii():
        text = _fix_surrogates(text)
        if len(text) > cap:  # joining a cut pair can only shorten; replacing keeps length
            text = text[:cap]
    return text


def clean_pairs(pairs: Any) -> dict[str, str]:
    """A tag or metadata mapping as clean ``str -> str`` (keys and values capped)."""
    out: dict[str, str] = {}
    if not pairs:
        return out
    try:
        items = list(dict(pairs).items())
    except Exception:
        return out
    extra = len(items) - MAX_PAIRS
    if extra > 0:
        items = items[: MAX_PAIRS - 1]
    for key, value in items:
        k = key if is_clean(key, MAX_KEY_CHARS) else clean_text(key, MAX_KEY_CHARS)
        out[k] = value if is_clean(value, MAX_VALUE_CHARS) else clean_text(value, MAX_VALUE_CHARS)
    if extra > 0:
        out[_MORE] = f"{extra + 1} more items"
    return out


def clean_int(value: object) -> int | None:
    """An integer column value SQLite can bind (64-bit), or None when there is none."""
    if type(value) is int and _INT64_MIN <= value <= _INT64_MAX:
        return value
    try:
        number = int(value)  # type: ignore[call-overload]
    except Exception:
        return None
    return number if _INT64_MIN <= number <= _INT64_MAX else None


def _cut(text: str, cap: int) -> str:
    mark = f"…[truncated {len(text) - cap} chars]"
    keep = max(0, cap - len(mark))
    mark = f"…[truncated {len(text) - keep} chars]"
    return (text[:keep] + mark)[:cap]
