"""A span's events as the JSON text of its ``events`` column (``store.rows``' part for them).

Bounded like every other column: at most ``MAX_JSON_CHARS`` of text, ``exception`` events
kept first, the rest counted in a closing ``…[truncated]`` event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlflow_trace_nb._internal.serialization import MAX_COLLECTION_ITEMS, MAX_JSON_CHARS, dumps
from mlflow_trace_nb.store.limits import MAX_NAME_CHARS, clean_text

__all__ = ["events_json"]


def events_json(events: Sequence[Any]) -> str:
    """A span's events as the JSON list its ``events`` column holds (bounded: see
    ``_events_fitting``); names cleaned and capped like span names."""
    if not events:
        return "[]"
    dicts = []
    for event in events:
        data = event.to_dict()
        name = data["name"]
        if not (type(name) is str and len(name) <= MAX_NAME_CHARS):
            data["name"] = clean_text(name, MAX_NAME_CHARS)  # dumps fixes surrogates
        dicts.append(data)
    if len(dicts) < MAX_COLLECTION_ITEMS:
        text = dumps(dicts)
        if text.startswith("["):
            return text
    return _events_fitting(dicts)


def _events_fitting(dicts: list[dict[str, Any]]) -> str:
    """Many or large events: each encoded on its own, kept in order while they fit in
    ``MAX_JSON_CHARS`` (``exception`` events always), then one ``…[truncated]`` event
    counting the rest; never one preview string in place of the list (it would read back
    as no events at all), nor the serialiser's 1,000-item cap."""
    texts = [dumps(data) for data in dicts]
    raised = [data["name"] == "exception" for data in dicts]
    budget = MAX_JSON_CHARS - 200 - sum(len(t) + 1 for t, r in zip(texts, raised, strict=True) if r)
    kept: list[str] = []
    for text, is_exception in zip(texts, raised, strict=True):
        if not is_exception:
            budget -= len(text) + 1
            if budget < 0 or not text.startswith("{"):
                continue
        kept.append(text)
    if len(kept) < len(dicts):
        mark = {
            "name": "…[truncated]",
            "timestamp_ns": dicts[-1].get("timestamp_ns"),
            "attributes": {"dropped_events": len(dicts) - len(kept)},
        }
        kept.append(dumps(mark))
    return "[" + ",".join(kept) + "]"
