"""The instrument_* entry points exist and say plainly what they can and cannot do yet."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

import mlflow_trace_nb as mlflow

VENDORS = {
    "instrument_openai": "openai",
    "instrument_anthropic": "anthropic",
    "instrument_langchain": "langchain_core",
    "instrument_transformers": "transformers",
}


@pytest.mark.parametrize(("function", "module"), sorted(VENDORS.items()))
def test_instrument_functions_fail_clearly(function: str, module: str) -> None:
    instrument = getattr(mlflow.tracing, function)
    installed = importlib.util.find_spec(module) is not None
    expected = NotImplementedError if installed else ImportError
    with pytest.raises(expected, match=function):
        instrument()


def test_importing_the_package_imports_no_vendor_sdk_nor_pandas() -> None:
    code = (
        "import sys, mlflow_trace_nb; "
        f"print(sorted(m for m in {sorted([*VENDORS.values(), 'pandas'])!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
