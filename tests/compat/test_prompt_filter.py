"""MLflow 3's ``prompt = 'name/version'`` filter key over the ``mlflow.linkedPrompts`` tag,
with prompt versions linked as MLflow links them (real MLflow registers and loads a prompt
inside a trace; this package links with ``MlflowClient.link_prompt_versions_to_trace``)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb import MlflowClient
from mlflow_trace_nb.query.lexer import FilterError


def _names(filter_string: str) -> list[str]:
    found = mlflow.search_traces(filter_string=filter_string, return_type="list")
    return sorted(t.info.name or "" for t in found)


def _traced(name: str, tag: str | None = None) -> str:
    with mlflow.start_span(name) as span:
        if tag is not None:
            mlflow.update_current_trace(tags={"mlflow.linkedPrompts": tag})
    return span.trace_id


def test_prompt_filter_matches_linked_versions() -> None:
    _traced("both", json.dumps([{"name": "qa", "version": "1"}, {"name": "sum", "version": "2"}]))
    _traced("numeric", json.dumps([{"name": "qa", "version": 2}]))
    _traced("broken", "not json")
    _traced("object", json.dumps({"name": "qa", "version": "1"}))
    _traced("strings", json.dumps(["qa/1", 5]))
    _traced("none")
    mlflow.flush()

    assert _names("prompt = 'qa/1'") == ["both"]
    assert _names('prompt = "qa/2"') == ["numeric"]
    assert _names("trace.prompt = 'sum/2' AND name = 'both'") == ["both"]
    assert _names("prompt = 'qa/3'") == []
    assert _names("NOT prompt = 'qa/1'") == ["broken", "none", "numeric", "object", "strings"]
    assert _names("prompt = 'qa/1' OR prompt = 'qa/2'") == ["both", "numeric"]


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        ("prompt != 'qa/1'", "Invalid comparator '!=' for prompts filter"),
        ("prompt LIKE 'qa/%'", "Invalid comparator 'LIKE' for prompts filter"),
        ("prompt = 'qa'", "Invalid prompts filter value 'qa'"),
        ("prompt = 'a/b/c'", "Invalid prompts filter value 'a/b/c'"),
    ],
)
def test_prompt_filter_misuse_raises_mlflows_message(filter_string: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        mlflow.search_traces(filter_string=filter_string)


def test_the_client_links_versions_to_running_and_stored_traces() -> None:
    client = MlflowClient()
    with mlflow.start_span("running") as span:
        client.link_prompt_versions_to_trace([{"name": "qa", "version": 1}], span.trace_id)
        client.link_prompt_versions_to_trace([{"name": "qa", "version": "1"}], span.trace_id)
    stored = _traced("stored")
    client.link_prompt_versions_to_trace([{"name": "sum", "version": "3"}], stored)
    client.link_prompt_versions_to_trace([{"name": "qa", "version": "1"}], stored)

    assert mlflow.get_trace(span.trace_id).info.tags["mlflow.linkedPrompts"] == json.dumps(
        [{"name": "qa", "version": "1"}]  # once, as MLflow
    )
    assert _names("prompt = 'qa/1'") == ["running", "stored"]
    assert _names("prompt = 'sum/3'") == ["stored"]
    with pytest.raises(mlflow.MlflowException, match="not found"):
        client.link_prompt_versions_to_trace([{"name": "qa", "version": "1"}], "tr-" + "0" * 32)


def test_mlflows_linked_prompts_tag_and_prompt_versions_work_here(real_mlflow: Any) -> None:
    version = real_mlflow.genai.register_prompt(name="qa", template="Answer {{q}}")

    @real_mlflow.trace
    def answer(q: str) -> str:
        return str(real_mlflow.genai.load_prompt("prompts:/qa/1").format(q=q))

    answer("why?")
    for thread in threading.enumerate():  # MLflow links prompts on a thread of its own
        if thread.name.startswith("link_prompts_from_exporter"):
            thread.join(timeout=30)
    theirs = real_mlflow.get_trace(real_mlflow.get_last_active_trace_id())
    assert len(real_mlflow.search_traces(filter_string="prompt = 'qa/1'")) == 1

    loaded = _traced("loaded", theirs.info.tags["mlflow.linkedPrompts"])  # MLflow's tag value
    linked = _traced("linked")
    MlflowClient().link_prompt_versions_to_trace([version], linked)  # MLflow's PromptVersion

    assert (
        mlflow.get_trace(linked).info.tags["mlflow.linkedPrompts"]
        == (theirs.info.tags["mlflow.linkedPrompts"])
    )
    assert loaded != linked and _names("prompt = 'qa/1'") == ["linked", "loaded"]
