"""mlflow.<flavor>.autolog(): MLflow's spelling of instrument_* / uninstrument_*."""

from __future__ import annotations

import openai
import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.testing.llm_server import LLMServer


def test_openai_autolog_traces_and_disable_undoes() -> None:
    with LLMServer() as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test")
        mlflow.openai.autolog()
        try:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
        finally:
            mlflow.openai.autolog(disable=True)
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "again"}]
        )
    traces = mlflow.search_traces(return_type="list")
    assert len(traces) == 1
    assert traces[0].data.spans[0].span_type == "CHAT_MODEL"  # type: ignore[union-attr]


def test_every_flavor_has_autolog_and_checks_its_arguments() -> None:
    for flavor in (mlflow.openai, mlflow.anthropic, mlflow.langchain, mlflow.transformers):
        assert callable(flavor.autolog)
    with pytest.raises(TypeError):
        mlflow.langchain.autolog(disable="yes")
    mlflow.langchain.autolog(log_models=True, silent=True)  # MLflow's other arguments
    mlflow.langchain.autolog(disable=True)
