"""Span times (integer nanoseconds since the epoch) as UTC datetimes."""

from __future__ import annotations

import datetime as dt

__all__ = ["utc_datetime"]


def utc_datetime(ns: int | None) -> dt.datetime | None:
    """``ns`` as an aware UTC datetime; None for 0/None or a time out of range."""
    if not ns:
        return None
    try:
        return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
