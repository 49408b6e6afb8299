"""API misuse raises as MLflow 3 raises it (``MlflowException``, same message and error code),
checked against real MLflow; payload content never raises, in either."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import mlflow_trace_nb

pytest.importorskip("mlflow")


def _raised(module: Any, misuse: Callable[[Any, Any], Any]) -> BaseException:
    with module.start_span("misused") as span, pytest.raises(Exception) as caught:
        misuse(module, span)
    return caught.value


MISUSES: dict[str, Callable[[Any, Any], Any]] = {
    "record_exception(123)": lambda m, span: span.record_exception(123),
    "record_exception(None)": lambda m, span: span.record_exception(None),
    "record_exception(list)": lambda m, span: span.record_exception(["boom"]),
    "set_status('INVALID')": lambda m, span: span.set_status("INVALID"),
    "SpanStatus('INVALID')": lambda m, span: m.entities.SpanStatus("INVALID"),
}


@pytest.mark.parametrize("name", list(MISUSES))
def test_misuse_raises_mlflows_exception(real_mlflow: Any, name: str) -> None:
    ours = _raised(mlflow_trace_nb, MISUSES[name])
    theirs = _raised(real_mlflow, MISUSES[name])

    assert type(ours).__name__ == type(theirs).__name__ == "MlflowException"
    assert isinstance(ours, mlflow_trace_nb.MlflowException)
    assert ours.error_code == theirs.error_code == "INVALID_PARAMETER_VALUE"  # type: ignore[attr-defined]
    if name.startswith("record_exception"):
        assert ours.message == theirs.message  # type: ignore[attr-defined]
    else:  # ours also lists the CANCELLED and TIMEOUT codes it accepts
        assert str(ours).startswith("INVALID is not a valid SpanStatusCode value.")
        assert str(theirs).startswith("INVALID is not a valid SpanStatusCode value.")


def test_the_misused_span_still_records(real_mlflow: Any) -> None:
    for module in (mlflow_trace_nb, real_mlflow):
        with module.start_span("misused") as span:
            with pytest.raises(Exception, match="must be an Exception instance or a string"):
                span.record_exception(123)
            span.set_outputs("fine")
        trace = module.get_trace(module.get_last_active_trace_id())
        (recorded,) = trace.data.spans
        assert recorded.outputs == "fine" and recorded.status.status_code.value == "OK"


class _Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __str__ = __repr__


@pytest.mark.parametrize(
    "payload",
    [object(), _Unprintable(), threading.Lock(), {1: {2, 3}}, b"\xff", float("nan")],
    ids=["object", "unprintable", "lock", "set-in-dict", "bytes", "nan"],
)
def test_payload_content_never_raises(real_mlflow: Any, payload: Any) -> None:
    # MLflow 3.17 itself raises (RuntimeError from set_inputs) for an object whose repr
    # raises; this package records it: only ours is checked for that one
    modules = (
        (mlflow_trace_nb,) if isinstance(payload, _Unprintable) else (mlflow_trace_nb, real_mlflow)
    )
    for module in modules:
        with module.start_span("payload") as span:
            span.set_inputs({"value": payload})
            span.set_outputs(payload)
            span.set_attribute("value", payload)
        assert module.get_trace(module.get_last_active_trace_id()) is not None
