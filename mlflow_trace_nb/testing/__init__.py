"""Test and demo helpers: a loopback server speaking the OpenAI and Anthropic wire formats.

``mlflow_trace_nb.testing.llm_server.start_server()`` lets the tests and the example notebooks
run the real vendor SDKs offline (``base_url=server.openai_base_url``, ``api_key="test"``).
"""

from __future__ import annotations

__all__: list[str] = []
