"""The tree shape of a trace's spans, computed once and cheaply.

Spans name their parent by id; formatting the ids of a live trace's spans (ints until read)
costs more than everything else a view does with a big trace, so live spans are linked by
their parent object and stored spans by their row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["children_of", "parent_indices", "preorder"]


def parent_indices(spans: Sequence[Any]) -> list[int]:
    """For each span, the index of its parent in ``spans``, or -1 (a root, or a parent that is
    not in the list)."""
    if not spans:
        return []
    first = spans[0]
    if hasattr(first, "_parent"):  # LiveSpan: linked by object
        index_of = {id(span): i for i, span in enumerate(spans)}
        return [
            index_of.get(id(parent), -1) if (parent := getattr(span, "_parent", None)) else -1
            for span in spans
        ]
    if getattr(first, "_row", None) is not None:  # stored Span: ids straight from its row
        index_of = {span._row[1]: i for i, span in enumerate(spans)}
        return [index_of.get(span._row[2], -1) for span in spans]
    index_of = {span.span_id: i for i, span in enumerate(spans)}
    return [index_of.get(span.parent_id, -1) for span in spans]


def children_of(parents: Sequence[int]) -> tuple[list[int], list[list[int]]]:
    """(roots, children per span), in list order; a span naming itself is a root."""
    children: list[list[int]] = [[] for _ in parents]
    roots = []
    for i, parent in enumerate(parents):
        if parent < 0 or parent == i:
            roots.append(i)
        else:
            children[parent].append(i)
    return roots, children


def preorder(
    parents: Sequence[int], starts: Sequence[int] | None = None
) -> Iterator[tuple[int, int]]:
    """(index, depth) of every span reachable from a root, parents before children,
    siblings by ``starts`` (else list order), lazily (a view drawing 500 spans of 5,000
    stops early). Iterative: deep chains are fine; spans in a parent cycle are left out."""
    roots, children = children_of(parents)
    if starts is not None:
        key = starts.__getitem__
        roots.sort(key=key)
        for group in children:
            if len(group) > 1:
                group.sort(key=key)
    stack = [(i, 0) for i in reversed(roots)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        below = children[node]
        if below:
            stack.extend([(c, depth + 1) for c in reversed(below)])
