"""Checks for the arguments of public functions.

A wrong type raises ``TypeError`` and an absurd value ``ValueError``, each message naming the
argument, what it must be and what it got, before anything reaches the store. The value
itself is quoted only briefly (``reprlib``; a hostile ``__repr__`` is not called twice).
"""

from __future__ import annotations

import math
import numbers
import operator
import reprlib
import threading
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_INT64",
    "bounded_int",
    "describe",
    "optional_bool",
    "optional_mapping",
    "optional_str",
    "optional_timeout",
    "span_end_ns",
    "span_time_ns",
    "str_list",
]

#: Largest integer SQLite stores (and so the largest ``max_results``).
MAX_INT64 = 2**63 - 1
_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60


def describe(value: Any) -> str:
    """``type: short repr`` of a value, for error messages (never raises)."""
    try:
        text = _repr.repr(value)
    except Exception:
        text = "<unprintable>"
    return f"{type(value).__name__} {text}"


def optional_str(value: Any, name: str, *, max_chars: int | None = None) -> str | None:
    """``value`` if it is None or a string (of at most ``max_chars`` characters)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {describe(value)}")
    if max_chars is not None and len(value) > max_chars:
        raise ValueError(f"{name} is {len(value):,} characters long; at most {max_chars:,}")
    return value


def optional_bool(value: Any, name: str) -> bool | None:
    """``value`` if it is None or a bool (not a string such as ``"false"``)."""
    if value is None or isinstance(value, bool):
        return value
    raise TypeError(f"{name} must be True or False, got {describe(value)}")


def optional_mapping(value: Any, name: str) -> Mapping[Any, Any] | None:
    """``value`` if it is None or a mapping (a dict)."""
    if value is None or isinstance(value, Mapping):
        return value
    raise TypeError(f"{name} must be a dict, got {describe(value)}")


def bounded_int(value: Any, name: str, *, minimum: int = 0, maximum: int = MAX_INT64) -> int | None:
    """``value`` as an int if it is None or an integer (anything with ``__index__``, not a
    bool) between ``minimum`` and ``maximum``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {describe(value)}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {describe(value)}") from None
    if not minimum <= number <= maximum:
        raise ValueError(f"{name} must be between {minimum} and {maximum:,}, got {number}")
    return number


def span_time_ns(value: Any, name: str) -> int | None:
    """``value`` as nanoseconds since the epoch if it is None or a number (an int, or a
    finite real such as ``time.time() * 1e9``, rounded down) between 0 and ``MAX_INT64``
    (the year 2262: what SQLite, OTLP and pandas' datetimes hold)."""
    if value is None:
        return None
    if (
        isinstance(value, numbers.Real)
        and not isinstance(value, numbers.Integral)
        and math.isfinite(value)
    ):  # float, numpy floats, Fraction: whole nanoseconds (a negative one stays refused)
        value = math.floor(value)
    return bounded_int(value, name)


def span_end_ns(value: Any, start_ns: int | None, name: str = "end_time_ns") -> int | None:
    """``span_time_ns(value, name)``, refused (``ValueError``) when before ``start_ns``."""
    end_ns = span_time_ns(value, name)
    if end_ns is not None and start_ns is not None and end_ns < start_ns:
        raise ValueError(f"{name} {end_ns} is before the span's start {start_ns}")
    return end_ns


def optional_timeout(value: Any, name: str = "timeout") -> float | None:
    """``value`` as seconds if it is None or a finite, non-negative number that threading
    can wait for."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds or None, got {describe(value)}")
    seconds = float(value)
    if math.isnan(seconds) or not 0 <= seconds <= threading.TIMEOUT_MAX:
        raise ValueError(
            f"{name} must be between 0 and {threading.TIMEOUT_MAX:.0f} seconds (or None to "
            f"wait without limit), got {value!r}"
        )
    return seconds


def str_list(value: Any, name: str, *, max_items: int, max_chars: int) -> list[str] | None:
    """``value`` as a list if it is None, a string, or a list/tuple of at most ``max_items``
    strings of at most ``max_chars`` characters each."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    elif not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a string or a list of strings, got {describe(value)}")
    if len(value) > max_items:
        raise ValueError(f"{name} has {len(value):,} entries; at most {max_items:,}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise TypeError(f"{name}[{index}] must be a string, got {describe(item)}")
        if len(item) > max_chars:
            raise ValueError(f"{name}[{index}] is {len(item):,} characters; at most {max_chars:,}")
    return list(value)
