"""Any value as text, for names, keys, tags and messages the user passes in."""

from __future__ import annotations

import enum

__all__ = ["as_text"]


def as_text(value: object) -> str:
    """``value`` as a ``str`` without ever raising: an ``Enum``'s value, a ``str``
    subclass's own characters (not its ``__str__``), else ``str(value)``; an object whose
    ``__str__`` fails becomes ``<unprintable TypeName>``."""
    if type(value) is str:
        return value
    try:
        if isinstance(value, enum.Enum):
            value = value.value
            if type(value) is str:
                return value
        if isinstance(value, str):
            return str.__str__(value)
        text = str(value)
        return text if type(text) is str else str.__str__(text)
    except Exception:
        try:
            return f"<unprintable {type(value).__name__}>"
        except Exception:
            return "<unprintable>"
