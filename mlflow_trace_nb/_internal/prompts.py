"""Prompt versions linked to traces, as MLflow 3 links them: the ``mlflow.linkedPrompts`` trace
tag, a JSON list of ``{"name": ..., "version": "..."}`` (``mlflow/tracing/utils/prompt.py``).

The package has no prompt registry: a version is linked with
``MlflowClient().link_prompt_versions_to_trace(prompt_versions, trace_id)`` (MLflow's
signature; a version is anything with ``name`` and ``version``: MLflow's ``PromptVersion``,
or a dict with those keys), or by setting the tag. Traces are then found with the filter
``prompt = 'name/version'`` (``query.sql``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb.errors import MlflowException

__all__ = ["link_prompt_versions_to_trace", "update_linked_prompts_tag"]


def _entry(version: Any) -> dict[str, str]:
    if isinstance(version, dict):
        name, number = version.get("name"), version.get("version")
    else:
        name, number = getattr(version, "name", None), getattr(version, "version", None)
    if not isinstance(name, str) or not name or number is None:
        raise MlflowException(
            f"A prompt version needs a name and a version, got {version!r}",
        )
    return {"name": name, "version": str(number)}


def update_linked_prompts_tag(current: str | None, prompt_versions: Iterable[Any]) -> str | None:
    """The tag's new value: ``current`` plus the versions it lacks (MLflow's
    ``update_linked_prompts_tag``); ``current`` itself when nothing is added.
    ``MlflowException`` if ``current`` is not a JSON list."""
    if current is not None:
        try:
            linked = json.loads(current)
        except json.JSONDecodeError:
            raise MlflowException(
                f"Invalid JSON format for '{keys.LINKED_PROMPTS}' tag: {current}"
            ) from None
        if not isinstance(linked, list):
            raise MlflowException(f"Invalid format for '{keys.LINKED_PROMPTS}' tag: {current}")
    else:
        linked = []
    new = [entry for entry in map(_entry, prompt_versions) if entry not in linked]
    added = [entry for i, entry in enumerate(new) if entry not in new[:i]]
    if not added:
        return current
    return json.dumps([*linked, *added])


def link_prompt_versions_to_trace(prompt_versions: Iterable[Any], trace_id: str) -> None:
    """Add the versions to the ``mlflow.linkedPrompts`` tag of trace ``trace_id`` (running in
    this context, or stored); ``MlflowException`` if there is no such trace."""
    from mlflow_trace_nb._internal.search import get_trace
    from mlflow_trace_nb._internal.tracer.fluent import _running, set_trace_tag

    versions = list(prompt_versions)
    live = _running(trace_id)
    if live is not None:
        current = (live.tags or {}).get(keys.LINKED_PROMPTS)
    else:
        stored = get_trace(trace_id)
        if stored is None:
            raise MlflowException(f"Trace with ID {trace_id} is not found.")
        current = stored.info.tags.get(keys.LINKED_PROMPTS)
    updated = update_linked_prompts_tag(current, versions)
    if updated is not None and updated != current:
        set_trace_tag(trace_id, keys.LINKED_PROMPTS, updated)
