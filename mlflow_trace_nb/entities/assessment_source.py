"""``AssessmentSource`` and ``AssessmentSourceType`` (MLflow 3.17's, without protobuf)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from mlflow_trace_nb.errors import MlflowException

__all__ = ["AssessmentSource", "AssessmentSourceType"]


class AssessmentSourceType:
    """HUMAN, LLM_JUDGE, CODE (or SOURCE_TYPE_UNSPECIFIED); case-insensitive, AI_JUDGE is
    read as LLM_JUDGE."""

    SOURCE_TYPE_UNSPECIFIED = "SOURCE_TYPE_UNSPECIFIED"
    LLM_JUDGE = "LLM_JUDGE"
    AI_JUDGE = "AI_JUDGE"  # deprecated spelling of LLM_JUDGE
    HUMAN = "HUMAN"
    CODE = "CODE"
    _SOURCE_TYPES: ClassVar[list[str]] = [SOURCE_TYPE_UNSPECIFIED, LLM_JUDGE, HUMAN, CODE]

    def __init__(self, source_type: str) -> None:
        self._source_type = AssessmentSourceType._parse(source_type)

    @staticmethod
    def _parse(source_type: str) -> str:
        if not isinstance(source_type, str):
            source_type = str(getattr(source_type, "_source_type", source_type))
        source_type = source_type.upper()
        if source_type == AssessmentSourceType.AI_JUDGE:
            import warnings

            warnings.warn(
                "AI_JUDGE is deprecated. Use LLM_JUDGE instead.", FutureWarning, stacklevel=3
            )
            source_type = AssessmentSourceType.LLM_JUDGE
        if source_type not in AssessmentSourceType._SOURCE_TYPES:
            raise MlflowException(
                f"Invalid assessment source type: {source_type}. "
                f"Valid source types: {AssessmentSourceType._SOURCE_TYPES}",
                "INVALID_PARAMETER_VALUE",
            )
        return source_type

    def __str__(self) -> str:
        return self._source_type

    @staticmethod
    def _standardize(source_type: str) -> str:
        return str(AssessmentSourceType(source_type))


@dataclass
class AssessmentSource:
    """Who made an assessment: ``source_type`` (HUMAN, LLM_JUDGE, CODE) and ``source_id``."""

    source_type: str
    source_id: str | None = "default"

    def __post_init__(self) -> None:
        self.source_type = AssessmentSourceType._standardize(self.source_type)

    def to_dictionary(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dictionary(cls, source_dict: dict[str, Any]) -> AssessmentSource:
        return cls(**source_dict)

    def _proto_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"source_type": self.source_type}
        if self.source_id:
            result["source_id"] = self.source_id
        return result
