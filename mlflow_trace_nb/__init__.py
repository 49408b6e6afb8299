"""mlflow-trace-nb: Jupyter-first tracing for LLM and GenAI code, with MLflow Tracing's API.

``import mlflow_trace_nb as mlflow`` runs MLflow-style tracing code unchanged::

    import mlflow_trace_nb as mlflow

    @mlflow.trace(span_type="RETRIEVER")
    def retrieve(query: str) -> list[str]: ...

    df = mlflow.search_traces()  # a pandas DataFrame, newest first

Traces go to ``./mlflow_traces.db`` (SQLite) unless ``set_destination`` says otherwise.
"""

from __future__ import annotations

from typing import Any

from mlflow_trace_nb import entities, tracing
from mlflow_trace_nb._public import *  # noqa: F403  (the one list of public names)
from mlflow_trace_nb._public import NAMES, lazy_attribute
from mlflow_trace_nb.display.cell_flush import register_cell_flush
from mlflow_trace_nb.display.cell_tags import register_cell_tags

__version__ = "0.1.0"

register_cell_flush()  # inside IPython: everything pending is written when a cell ends
register_cell_tags()  # inside IPython: traces are tagged with the cell that made them

__all__ = [*NAMES, "__version__", "entities", "tracing"]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext mlflow_trace_nb``: the ``%%trace`` and ``%traces`` magics."""
    from mlflow_trace_nb.display.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext mlflow_trace_nb``: remove the magics."""
    from mlflow_trace_nb.display.magics import unload_ipython_extension as unload

    unload(ipython)


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, name)
