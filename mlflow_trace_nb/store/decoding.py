"""Fast decoding of the JSON columns the store wrote.

``json.loads`` spends most of its time on Python-level checks for small documents; calling
the C scanner directly is about four times faster, which matters when a DataFrame of ten
thousand traces decodes tens of thousands of small columns. Text the scanner does not accept
entirely falls back to ``json.loads``, and text that is not JSON at all is returned as is.
"""

from __future__ import annotations

import json
import json.scanner
from typing import Any

__all__ = ["decode_json", "decode_object"]

_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def decode_json(text: str | None) -> Any:
    """Decode one JSON column; None stays None; invalid JSON comes back as the text itself."""
    if text is None:
        return None
    try:
        value, end = _scan(text, 0)
        if end == len(text):
            return value
    except (StopIteration, ValueError):
        pass
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def decode_object(text: str | None) -> dict[str, Any]:
    """Decode a JSON object column; anything that is not an object becomes ``{}``."""
    if not text or text == "{}":
        return {}
    value = decode_json(text)
    return value if isinstance(value, dict) else {}
