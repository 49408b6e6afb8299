"""MLflow 3's ``search_traces`` arguments beyond the reference's: ``locations`` (the
experiments, MLflow 3's name for ``experiment_ids``), ``run_id`` and ``model_id`` (traces
whose ``mlflow.sourceRun`` / ``mlflow.modelId`` metadata names them), ``include_spans``,
``extract_fields``, ``return_type=None`` (pandas), ``flush`` and the deprecated
``sql_warehouse_id`` (Databricks only: a warning, ignored)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from mlflow_trace_nb import keys
from mlflow_trace_nb._internal.tracer.arguments import describe
from mlflow_trace_nb.errors import MlflowException

__all__ = ["scope"]

_INVALID = "INVALID_PARAMETER_VALUE"


def _quoted(value: str) -> str:
    """A filter string literal (the lexer's escapes: a doubled quote, a doubled backslash)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _and(filter_string: str | None, clause: str) -> str:
    return clause if not filter_string else f"({filter_string}) AND {clause}"


def scope(
    experiment_ids: Sequence[Any] | None,
    locations: Sequence[Any] | None,
    filter_string: str | None,
    run_id: Any,
    model_id: Any,
    return_type: Any,
    extract_fields: Any,
    sql_warehouse_id: Any,
    include_spans: Any = True,
) -> tuple[Sequence[Any] | None, str | None, str]:
    """``(experiment ids, filter string, return type)`` for the reference's search, from
    MLflow 3's arguments; ``ValueError``/``MlflowException`` as MLflow raises them,
    ``TypeError`` for a wrong type."""
    if not isinstance(include_spans, bool):
        raise TypeError(f"include_spans must be a bool, got {describe(include_spans)}")
    if sql_warehouse_id is not None:
        warnings.warn(
            "The `sql_warehouse_id` parameter is deprecated (Databricks only); ignored here",
            FutureWarning,
            stacklevel=3,
        )
    if extract_fields is not None:
        warnings.warn(
            "The `extract_fields` parameter is deprecated and will be removed in a future version.",
            FutureWarning,
            stacklevel=3,
        )
    if return_type is None:
        return_type = "pandas"
    if not isinstance(return_type, str) or return_type not in ("pandas", "list"):
        shown = return_type if isinstance(return_type, str) else describe(return_type)
        raise MlflowException(  # a ValueError too; MLflow's message
            f"Invalid return type: {shown[:100]}. Return type must be either 'pandas' or 'list'.",
            _INVALID,
        )
    if return_type == "list" and extract_fields:
        raise MlflowException(
            "The `extract_fields` parameter is only supported when return type is set to 'pandas'.",
            _INVALID,
        )
    if locations is not None:
        if isinstance(locations, (str, bytes)) or not isinstance(locations, Sequence):
            raise MlflowException(
                f"locations must be a list, got {type(locations).__name__}", _INVALID
            )
        experiment_ids = [*experiment_ids, *locations] if experiment_ids else list(locations)
    if model_id is not None:
        if not isinstance(model_id, str):
            raise TypeError(f"model_id must be a string, got {describe(model_id)}")
        if filter_string:
            raise MlflowException(
                "Cannot specify both `model_id` or `filter_string` in the search_traces call.",
                _INVALID,
            )
        filter_string = f"metadata.`{keys.MODEL_ID}` = {_quoted(model_id)}"
    if run_id:
        if not isinstance(run_id, str):
            raise TypeError(f"run_id must be a string, got {describe(run_id)}")
        if filter_string and keys.SOURCE_RUN in filter_string:
            raise MlflowException(
                "You cannot filter by run_id when it is already part of the filter string."
                f"Please remove the {keys.SOURCE_RUN} filter from the filter string and try "
                "again.",
                _INVALID,
            )
        filter_string = _and(filter_string, f"metadata.`{keys.SOURCE_RUN}` = {_quoted(run_id)}")
    return experiment_ids, filter_string, return_type
