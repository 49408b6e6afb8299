"""What a traced generator yielded: its outputs and MLflow's per-item chunk events.

As MLflow 3's ``@mlflow.trace`` on a generator (sync or async), each yielded item adds one
span event named ``mlflow.chunk.item.{index}`` (index from 0) whose ``mlflow.chunk.value``
attribute is the item as JSON text (MLflow's ``json.dumps`` layout: ``", "``/``": "``
separators, non-ASCII escaped), and the span's outputs are the list of items (or
``output_reducer(items)``). A generator that fails part-way keeps the chunk events of the
items it yielded, gets an ``exception`` event and no outputs (as MLflow).

Bounded, so a long stream cannot grow memory without limit: the first
``MAX_GENERATOR_ITEMS`` items are the outputs (then one ``"…[N more items]"`` marker), the
first ``MAX_CHUNK_EVENTS`` items get chunk events, and the number of items past that is the
span attribute ``mlflow_trace_nb.dropped_chunk_events`` (absent when none were dropped).
The chunk values of one span share ``MAX_CHUNK_CHARS`` characters of JSON (so its events stay
within the store's payload cap, ``serialization.MAX_JSON_CHARS``): a value that would go past
it is recorded as a JSON string saying how long it was.
Items are copied as ``snapshot`` copies them (small containers, two levels), so an item the
consumer mutates later is recorded as yielded; its JSON is made when the event is first
read (by the writer thread), not on the caller's.
"""

from __future__ import annotations

import json
import time
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.serialization import to_jsonable
from mlflow_trace_nb._internal.tracer.capture import SNAPSHOT_TYPES, snapshot
from mlflow_trace_nb.entities import SpanEvent
from mlflow_trace_nb.errors import report_internal_error

__all__ = [
    "MAX_CHUNK_CHARS",
    "MAX_CHUNK_EVENTS",
    "MAX_GENERATOR_ITEMS",
    "ChunkEvent",
    "Chunks",
    "chunk_json",
]

#: A traced generator records at most this many yielded items as its output.
MAX_GENERATOR_ITEMS = 1_000
#: A traced generator records at most this many chunk events (the rest are counted).
MAX_CHUNK_EVENTS = 1_000
#: The chunk values of one span share this many characters of JSON.
MAX_CHUNK_CHARS = 500_000

_time_ns = time.time_ns
_ATTRIBUTES = SpanEvent.__dict__["attributes"]  # the slot the property below wraps
_NAME = keys.STREAM_CHUNK_EVENT
_NAMES = [_NAME.format(index=i) for i in range(MAX_CHUNK_EVENTS)]


def chunk_json(value: Any) -> str:
    """``value`` as MLflow's ``mlflow.chunk.value`` text (bounded; never raises)."""
    try:
        return json.dumps(to_jsonable(value))
    except Exception:
        return '"<unserializable>"'


class _Budget:
    """Characters of chunk JSON a span has left (shared by its chunk events)."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_CHUNK_CHARS


class ChunkEvent(SpanEvent):
    """One ``mlflow.chunk.item.{index}`` event; its value is encoded on first read."""

    __slots__ = ("_budget", "_value")

    def __init__(
        self, index: int, value: Any, timestamp_ns: int, budget: _Budget | None = None
    ) -> None:
        # no SpanEvent.__init__: this runs for every item a traced generator yields
        self.name = _NAMES[index] if index < MAX_CHUNK_EVENTS else _NAME.format(index=index)
        self.timestamp_ns = timestamp_ns
        self._value = value
        self._budget: _Budget | None = budget if budget is not None else _Budget()

    @property
    def attributes(self) -> dict[str, Any]:
        budget = self._budget
        if budget is not None:  # not encoded yet
            text = chunk_json(self._value)
            if len(text) > budget.left:  # (the marks: at most ~60 chars * MAX_CHUNK_EVENTS)
                text = json.dumps(f"…[chunk value of {len(text)} chars not kept: span budget]")
            else:
                budget.left -= len(text)
            _ATTRIBUTES.__set__(self, {keys.STREAM_CHUNK_VALUE: text})
            self._budget = self._value = None
        attributes: dict[str, Any] = _ATTRIBUTES.__get__(self)
        return attributes

    @attributes.setter
    def attributes(self, value: dict[str, Any]) -> None:
        _ATTRIBUTES.__set__(self, value)
        self._budget = self._value = None


class Chunks:
    """The items a traced generator yielded, and its chunk events (both bounded)."""

    __slots__ = ("budget", "count", "events", "items")

    def __init__(self, span: Any) -> None:
        self.items: list[Any] = []
        self.count = 0
        self.budget = _Budget()
        # the span's own event list: chunk events interleave with the user's, in time order
        self.events: list[Any] | None = span.events if span._recording else None

    def add(self, item: Any) -> None:
        """Record one yielded item (its chunk event stamped now). Never raises."""
        index = self.count
        self.count = index + 1
        try:
            if index < MAX_GENERATOR_ITEMS:
                if type(item) in SNAPSHOT_TYPES:
                    item = snapshot(item)
                self.items.append(item)
            elif index >= MAX_CHUNK_EVENTS:
                return
            elif type(item) in SNAPSHOT_TYPES:
                item = snapshot(item)
            events = self.events
            if events is not None and index < MAX_CHUNK_EVENTS:
                events.append(ChunkEvent(index, item, _time_ns(), self.budget))
        except Exception:  # the generator's own code must not see the tracer fail
            report_internal_error("recording a yielded item")

    def output(self) -> list[Any]:
        """The outputs to record: the items, and a marker for those past the cap."""
        if self.count > MAX_GENERATOR_ITEMS:
            return [*self.items, f"…[{self.count - MAX_GENERATOR_ITEMS} more items]"]
        return self.items

    def dropped_events(self) -> int:
        """Items yielded past ``MAX_CHUNK_EVENTS`` (no chunk event of their own)."""
        return max(0, self.count - MAX_CHUNK_EVENTS)
