"""Span values -> the blocks the static HTML view draws (plain data; the template escapes).

A value becomes a list of text blocks (``SimpleNamespace`` objects: jinja reads attributes
of those fastest). A block has ``t`` (the text), ``key`` (the top-level dict key it shows,
or None), ``kind_class`` (`` mtn-text`` for prose, empty for JSON), ``cut`` (characters left
out, as text; empty if none), ``size`` and ``fold``/``head`` (long texts are drawn inside a
closed ``<details>`` whose summary is their first line). Strings are shown as text when they
span several lines or are long, strings holding JSON pretty-printed, other values as JSON.

``document_blocks`` turns retriever outputs into cards, ``chat_blocks`` a chat span into a
conversation (answer first). Texts are cut at ``MAX_VALUE_CHARS``; ``Budget`` bounds the
characters drawn per output.
"""

from __future__ import annotations

import json
import os
import re
from types import SimpleNamespace
from typing import Any

from mlflow_trace_nb.display.chat import chat_messages

__all__ = [
    "FOLD_CHARS",
    "MAX_DOCUMENTS",
    "MAX_VALUE_CHARS",
    "Budget",
    "chat_blocks",
    "clean_stacktrace",
    "document_blocks",
    "value_blocks",
]

#: Characters of one value drawn (the rest is counted in a visible "… N more" note).
MAX_VALUE_CHARS = 20_000
#: Texts longer than this (or of more than ``FOLD_LINES`` lines) are drawn folded.
FOLD_CHARS = 600
FOLD_LINES = 12
#: Retriever documents drawn as cards per span.
MAX_DOCUMENTS = 50
#: Keys of a top-level dict drawn as fields (the rest go in one JSON block).
MAX_FIELDS = 40
_HEAD_CHARS = 120
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_FRAME = re.compile(r"[/\\](?:site-packages|dist-packages)[/\\]mlflow_trace_nb[/\\]")


class Budget:
    """Characters and spans left to draw in one output."""

    def __init__(self, spans: int, chars: int) -> None:
        self.spans = spans
        self.chars = chars

    @property
    def exhausted(self) -> bool:
        """True once the character budget is spent."""
        return self.chars <= 0

    def take(self, text: str, limit: int = MAX_VALUE_CHARS) -> tuple[str, int]:
        """``text`` cut to ``limit`` and to what is left; returns (kept, characters cut)."""
        keep = max(min(limit, self.chars), 0)
        kept = text[:keep]
        self.chars -= len(kept)
        return kept, len(text) - len(kept)


def _leaf(
    kind: str, text: str, budget: Budget, size: int | None = None, key: str | None = None
) -> SimpleNamespace:
    kept, cut = budget.take(text)
    size = len(text) if size is None else size
    cut = max(cut, size - len(kept))
    long = len(kept) > FOLD_CHARS or kept.count("\n") >= FOLD_LINES
    head = kept.lstrip().split("\n", 1)[0][:_HEAD_CHARS] if long else ""
    return SimpleNamespace(
        t=kept,
        key=key,
        kind_class=" mtn-text" if kind == "text" else "",
        cut=f"{cut:,}" if cut > 0 else "",
        size=f"{size:,}",
        fold=long,
        head=head,
    )


def _dump(value: Any, pretty: bool = False) -> str:
    try:
        compact = json.dumps(value, ensure_ascii=False, default=repr)  # C encoder: fast
        if len(compact) <= 80 and not (pretty and isinstance(value, (dict, list)) and value):
            return compact
        return json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    except Exception:  # circular or hostile objects
        try:
            return repr(value)[: MAX_VALUE_CHARS + 1]
        except Exception:
            return f"<unprintable {type(value).__name__}>"


def _json_in_string(text: str) -> Any:
    stripped = text.strip()
    if len(stripped) < 2 or stripped[0] not in "[{" or len(stripped) > 2 * MAX_VALUE_CHARS:
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    return value if isinstance(value, (dict, list)) else None


def _scalar_block(value: Any, budget: Budget, key: str | None = None) -> SimpleNamespace:
    if isinstance(value, str):
        parsed = _json_in_string(value)
        if parsed is not None:
            return _leaf("json", _dump(parsed, pretty=True), budget, key=key)
        if "\n" in value or len(value) > FOLD_CHARS:  # prose: shown as text, not quoted
            return _leaf("text", value[: MAX_VALUE_CHARS + 1], budget, len(value), key)
        return _leaf("json", _dump(value), budget, key=key)
    return _leaf("json", _dump(value), budget, key=key)


def value_blocks(value: Any, budget: Budget) -> list[SimpleNamespace]:
    """Blocks for one input, output or attribute value (a top-level dict by key)."""
    if isinstance(value, dict) and 0 < len(value) <= MAX_FIELDS:
        blocks = []
        for key, item in value.items():
            if budget.exhausted:
                break
            blocks.append(_scalar_block(item, budget, str(key)))
        return blocks
    return [_scalar_block(value, budget)]


def _document(item: Any) -> tuple[Any, Any, Any]:
    if isinstance(item, str):
        return item, None, None
    if not isinstance(item, dict):
        return None, None, None
    for key in ("page_content", "content", "text", "document"):
        if isinstance(item.get(key), str):
            meta = item.get("metadata")
            ident = item.get("id") or (meta.get("doc_uri") if isinstance(meta, dict) else None)
            extra = {k: v for k, v in item.items() if k not in (key, "metadata", "id", "type")}
            if isinstance(meta, dict):
                extra = {**meta, **extra}
            return item[key], extra or None, ident
    return None, None, None


def document_blocks(outputs: Any, budget: Budget) -> SimpleNamespace | None:
    """Retriever documents (``[{page_content, metadata, id}]``, ``[{content|text}]`` or
    ``[str]``) as cards, or None when ``outputs`` is not a list of documents."""
    items = outputs.get("documents") if isinstance(outputs, dict) else outputs
    if not isinstance(items, list) or not items:
        return None
    docs = [_document(item) for item in items]
    if any(text is None for text, _, _ in docs):
        return None
    cards = []
    for text, meta, ident in docs[:MAX_DOCUMENTS]:
        if budget.exhausted:
            break
        meta_text = json.dumps(meta, ensure_ascii=False, default=repr)[:500] if meta else ""
        cards.append(
            SimpleNamespace(
                t=_leaf("text", str(text)[: MAX_VALUE_CHARS + 1], budget, len(str(text))),
                meta=meta_text,
                id=str(ident)[:300] if ident is not None else "",
            )
        )
    return SimpleNamespace(cards=cards, count=len(items), hidden=len(items) - len(cards))


def _message_view(message: dict[str, Any], budget: Budget) -> SimpleNamespace:
    parts = []
    for part in message.get("parts", []):
        kind = part.get("k", "text")
        text = part.get("t", "")
        label = {"tool_call": "tool call", "tool_result": "tool result"}.get(kind, kind)
        if part.get("n"):
            label += f" {part['n']}"
        if kind == "text" and _json_in_string(text) is None:
            block = _leaf("text", text, budget)  # one-line text stays text, not a JSON string
        else:
            block = _scalar_block(text, budget)
        parts.append(SimpleNamespace(label="" if kind == "text" else label, b=block))
    role = str(message.get("role", "?"))
    role_class = re.sub(r"[^a-z0-9_-]", "-", role.lower())[:40]
    return SimpleNamespace(role=role, role_class=role_class, parts=parts)


def chat_blocks(inputs: Any, outputs: Any, budget: Budget) -> SimpleNamespace | None:
    """A chat span's conversation: the answer first, then the request messages (long
    ones, such as a system prompt, folded), or None when no messages are found."""
    request = chat_messages(inputs, None, part_chars=MAX_VALUE_CHARS) or []
    answer = chat_messages(None, outputs, part_chars=MAX_VALUE_CHARS) or []
    if not request and not answer:
        return None
    answer_views = [_message_view(m, budget) for m in answer]
    request_views = [_message_view(m, budget) for m in request]
    return SimpleNamespace(answer=answer_views, messages=request_views)


def clean_stacktrace(text: str) -> tuple[str, int]:
    """A Python stack trace without this library's own wrapper frames; returns (text,
    frames hidden)."""
    lines = text.splitlines()
    kept: list[str] = []
    hidden = 0
    skipping = False
    for line in lines:
        if line.startswith("  File "):
            skipping = _is_library_frame(line)
            hidden += skipping
            if not skipping:
                kept.append(line)
        elif skipping and line.startswith("    "):
            continue  # the hidden frame's source line and its ^^^ marker
        else:
            skipping = False
            kept.append(line)
    return "\n".join(kept), hidden


def _is_library_frame(line: str) -> bool:
    match = re.match(r'  File "([^"]*)"', line)
    if match is None:
        return False
    path = match.group(1)
    if _LIBRARY_FRAME.search(path):
        return True
    return os.path.abspath(path).startswith(_PACKAGE_DIR + os.sep)
