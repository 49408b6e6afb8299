"""MLflow's deprecated keyword spellings, still accepted as MLflow 3 accepts them."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["accepts_request_id"]

F = TypeVar("F", bound=Callable[..., Any])


def accepts_request_id(func: F) -> F:
    """``request_id=`` taken as ``trace_id=`` with MLflow's ``FutureWarning`` (MLflow 3's
    ``@deprecated_parameter("request_id", "trace_id")``); ``ValueError`` when both are given.
    The signature shown stays the function's own."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if "request_id" in kwargs:
            value = kwargs.pop("request_id")
            warnings.warn(
                "Parameter 'request_id' is deprecated. Please use 'trace_id' instead.",
                category=FutureWarning,
                stacklevel=2,
            )
            if "trace_id" in kwargs:
                raise ValueError(
                    "Cannot specify both 'request_id' (deprecated) and 'trace_id'. "
                    "Use 'trace_id' only."
                )
            kwargs["trace_id"] = value
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
