"""``mlflow.openai.autolog()`` and its siblings: MLflow's spelling of our instrumentations.

``import mlflow_trace_nb as mlflow`` then ``mlflow.openai.autolog()`` instruments the OpenAI
SDK (``instrument_openai``), ``autolog(disable=True)`` (or ``log_traces=False``) undoes it.
The same for ``anthropic``, ``langchain`` and ``transformers``. MLflow's other autolog
arguments (model logging, ``exclusive``, ``silent``...) concern MLflow runs, which this
package has none of: they are accepted and ignored.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

__all__ = ["anthropic", "langchain", "openai", "transformers"]


def _flavor(vendor: str) -> SimpleNamespace:
    def autolog(disable: bool = False, log_traces: bool = True, **_ignored: Any) -> None:
        """Trace every call of this SDK (MLflow's ``mlflow.<flavor>.autolog``)."""
        from mlflow_trace_nb import instrumentation

        if not isinstance(disable, bool) or not isinstance(log_traces, bool):
            raise TypeError("disable and log_traces must be bools")
        if disable or not log_traces:
            getattr(instrumentation, f"uninstrument_{vendor}")()
        else:
            getattr(instrumentation, f"instrument_{vendor}")()

    autolog.__qualname__ = f"{vendor}.autolog"
    return SimpleNamespace(autolog=autolog, __name__=f"mlflow_trace_nb.{vendor}")


openai = _flavor("openai")
anthropic = _flavor("anthropic")
langchain = _flavor("langchain")
transformers = _flavor("transformers")
