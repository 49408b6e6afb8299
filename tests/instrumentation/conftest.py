"""Fixtures for the vendor integrations: one loopback LLM server per session, real SDK
clients pointed at it, and instrumentation that is undone after each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mlflow_trace_nb.instrumentation import (
    instrument_anthropic,
    instrument_openai,
    uninstrument_anthropic,
    uninstrument_openai,
)
from mlflow_trace_nb.instrumentation._patching import Instrumentation
from mlflow_trace_nb.testing.llm_server import LLMServer, start_server


@pytest.fixture(scope="session")
def llm_server() -> Iterator[LLMServer]:
    """The OpenAI/Anthropic wire-format server on 127.0.0.1 (see ``testing.llm_server``)."""
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def openai_instrumented() -> Iterator[Instrumentation]:
    handle = instrument_openai()
    yield handle
    uninstrument_openai()


@pytest.fixture
def anthropic_instrumented() -> Iterator[Instrumentation]:
    handle = instrument_anthropic()
    yield handle
    uninstrument_anthropic()


@pytest.fixture
def openai_client(llm_server: LLMServer) -> Any:
    import openai

    return openai.OpenAI(base_url=llm_server.openai_base_url, api_key="test", max_retries=0)


@pytest.fixture
def async_openai_client(llm_server: LLMServer) -> Any:
    import openai

    return openai.AsyncOpenAI(base_url=llm_server.openai_base_url, api_key="test", max_retries=0)


@pytest.fixture
def anthropic_client(llm_server: LLMServer) -> Any:
    import anthropic

    return anthropic.Anthropic(
        base_url=llm_server.anthropic_base_url, api_key="test", max_retries=0
    )


@pytest.fixture
def async_anthropic_client(llm_server: LLMServer) -> Any:
    import anthropic

    return anthropic.AsyncAnthropic(
        base_url=llm_server.anthropic_base_url, api_key="test", max_retries=0
    )
