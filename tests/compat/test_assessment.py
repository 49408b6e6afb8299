"""Our assessment entities against the real ``mlflow`` package (3.17): the same constructor
arguments give the same ``to_dictionary()``, and each side reads the other's dicts back into
equal entities. Also: a trace with assessments serialised by real MLflow loads here."""

from __future__ import annotations

from typing import Any

import pytest

import mlflow_trace_nb.entities as ours

real = pytest.importorskip("mlflow.entities")
TIMES = {"create_time_ms": 1700000000123, "last_update_time_ms": 1700000005000}


def _feedback_cases(mod: Any) -> list[Any]:
    source = mod.AssessmentSource(source_type="llm_judge", source_id="gpt-4o")
    return [
        mod.Feedback(name="x", value=1, **TIMES),
        mod.Feedback(name="score", value=0.25, rationale="why", metadata={"k": 1}, **TIMES),
        mod.Feedback(value=True, source=source, span_id="0123456789abcdef", **TIMES),
        mod.Feedback(name="d", value={"a": [1, 2.5, True, None, "s"], "b": {"c": 3}}, **TIMES),
        mod.Feedback(name="l", value=["a", 1, False], trace_id="tr-1", **TIMES),
        mod.Feedback(name="e", error="boom", **TIMES),
        mod.Feedback(
            name="e2",
            error=mod.AssessmentError(error_code="RATE", error_message="m", stack_trace="st"),
            **TIMES,
        ),
        mod.Feedback(name="o", value="yes", overrides="a-123", valid=False, **TIMES),
        mod.Feedback(name="z", value=0, create_time_ms=0, last_update_time_ms=1000),
        mod.Feedback(name="big", value=2**60, **TIMES),
        mod.Feedback(name="long stack", error=mod.AssessmentError("E", "m", "x" * 20000), **TIMES),
        mod.Feedback(name="src none", value=1, source=mod.AssessmentSource("HUMAN", None), **TIMES),
    ]


def _expectation_cases(mod: Any) -> list[Any]:
    return [
        mod.Expectation(name="gt", value="Paris", **TIMES),
        mod.Expectation(name="n", value=42, **TIMES),
        mod.Expectation(name="f", value=False, **TIMES),
        mod.Expectation(name="d", value={"role": "assistant", "calls": [{"id": 1}]}, **TIMES),
        mod.Expectation(name="l", value=[1, "two"], metadata={"q": "easy"}, span_id="s", **TIMES),
        mod.Expectation(
            name="src",
            value="v",
            source=mod.AssessmentSource(source_type="CODE", source_id="script.py"),
            trace_id="tr-2",
            **TIMES,
        ),
    ]


def _with_ids(cases: list[Any]) -> list[Any]:
    for i, case in enumerate(cases):
        case.assessment_id = f"a-{i:032x}"
    return cases


@pytest.mark.parametrize("index", range(len(_feedback_cases(ours))))
def test_feedback_to_dictionary_matches_mlflow(index: int) -> None:
    ours_case = _with_ids(_feedback_cases(ours))[index]
    real_case = _with_ids(_feedback_cases(real))[index]
    assert ours_case.to_dictionary() == real_case.to_dictionary()
    assert ours.Feedback.from_dictionary(real_case.to_dictionary()).to_dictionary() == (
        real.Feedback.from_dictionary(real_case.to_dictionary()).to_dictionary()
    )
    back = real.Assessment.from_dictionary(ours_case.to_dictionary())
    assert back == real.Assessment.from_dictionary(real_case.to_dictionary())


@pytest.mark.parametrize("index", range(len(_expectation_cases(ours))))
def test_expectation_to_dictionary_matches_mlflow(index: int) -> None:
    ours_case = _with_ids(_expectation_cases(ours))[index]
    real_case = _with_ids(_expectation_cases(real))[index]
    assert ours_case.to_dictionary() == real_case.to_dictionary()
    mine = ours.Assessment.from_dictionary(real_case.to_dictionary())
    assert isinstance(mine, ours.Expectation)
    assert mine.value == real.Assessment.from_dictionary(real_case.to_dictionary()).value
    assert real.Assessment.from_dictionary(ours_case.to_dictionary()) == (
        real.Assessment.from_dictionary(real_case.to_dictionary())
    )


def test_attributes_and_defaults_match_mlflow() -> None:
    for mod_ours, mod_real in [(ours, real)]:
        a, b = mod_ours.Feedback(name="x", value=1), mod_real.Feedback(name="x", value=1)
        for field in ("name", "value", "trace_id", "run_id", "rationale", "metadata"):
            assert getattr(a, field) == getattr(b, field), field
        for field in ("span_id", "assessment_id", "error", "overrides", "valid", "expectation"):
            assert getattr(a, field) == getattr(b, field), field
        assert a.error_code is None and a.error_message is None
        assert a.source.to_dictionary() == b.source.to_dictionary()
        e, f = mod_ours.Expectation(name="y", value=2), mod_real.Expectation(name="y", value=2)
        assert (e.source.to_dictionary(), e.valid, e.feedback) == (
            f.source.to_dictionary(),
            f.valid,
            f.feedback,
        )
        assert mod_ours.AssessmentSourceType.LLM_JUDGE == mod_real.AssessmentSourceType.LLM_JUDGE
        err_a = mod_ours.AssessmentError(error_code="E")
        err_b = mod_real.AssessmentError(error_code="E")
        assert err_a.to_dictionary() == err_b.to_dictionary()


def test_exception_error_matches_mlflow() -> None:
    try:
        raise ValueError("bad judge")
    except ValueError as error:
        a = ours.Feedback(name="x", error=error)
        b = real.Feedback(name="x", error=error)
    assert (a.error_code, a.error_message) == (b.error_code, b.error_message)
    assert a.error.stack_trace == b.error.stack_trace


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.AssessmentSource(source_type="ROBOT"),
        lambda m: m.Expectation(name="x", value=None),
        lambda m: m.Feedback(name="x", error=123),
        lambda m: m.Assessment.from_dictionary({"assessment_name": "x"}),
    ],
)
def test_misuse_raises_like_mlflow(make: Any) -> None:
    from mlflow.exceptions import MlflowException as RealError

    from mlflow_trace_nb.errors import MlflowException

    with pytest.raises(RealError) as theirs:
        make(real)
    with pytest.raises(MlflowException) as mine:
        make(ours)
    assert mine.value.message == theirs.value.message


def test_trace_with_assessments_from_real_mlflow() -> None:
    from mlflow.entities import Trace as RealTrace
    from mlflow.entities import TraceData as RealData
    from mlflow.entities import TraceInfo as RealInfo
    from mlflow.entities import TraceLocation as RealLocation
    from mlflow.entities import TraceState as RealState

    feedback = real.Feedback(name="ok", value=True, trace_id="tr-abc", **TIMES)
    feedback.assessment_id = "a-" + "1" * 32
    info = RealInfo(
        trace_id="tr-abc",
        trace_location=RealLocation.from_experiment_id("0"),
        request_time=1700000000000,
        state=RealState.OK,
        assessments=[feedback],
    )
    text = RealTrace(info=info, data=RealData(spans=[])).to_json()
    mine = ours.Trace.from_json(text)
    assert len(mine.info.assessments) == 1
    assert isinstance(mine.info.assessments[0], ours.Feedback)
    assert mine.info.assessments[0].to_dictionary() == feedback.to_dictionary()
    assert mine.to_dict()["info"]["assessments"] == [feedback.to_dictionary()]
