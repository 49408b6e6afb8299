"""``AssessmentError``: an error met while making a feedback (MLflow 3.17's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["AssessmentError"]

_STACK_PREFIX = "[Stack trace is truncated]\n...\n"
_STACK_CHARS = 10000


@dataclass
class AssessmentError:
    """An error met while making a feedback (say, the judge timed out)."""

    error_code: str
    error_message: str | None = None
    stack_trace: str | None = None

    def to_dictionary(self) -> dict[str, Any]:
        return {
            "error_code": self.error_code,
            "error_message": self.error_message,
            "stack_trace": self.stack_trace,
        }

    @classmethod
    def from_dictionary(cls, error_dict: dict[str, Any]) -> AssessmentError:
        return cls(**error_dict)

    def _proto_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"error_code": self.error_code}
        if self.error_message:
            result["error_message"] = self.error_message
        if self.stack_trace:
            stack = self.stack_trace
            if len(stack) > _STACK_CHARS:
                stack = _STACK_PREFIX + stack[-(_STACK_CHARS - len(_STACK_PREFIX)) :]
            result["stack_trace"] = stack
        return result
