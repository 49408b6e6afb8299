"""A real IPython InteractiveShell whose display outputs are captured, for display tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.displaypub import CapturingDisplayPublisher
from IPython.core.interactiveshell import InteractiveShell


@pytest.fixture
def capturing_shell() -> Iterator[Any]:
    """The shell with ``mlflow_trace_nb`` imported as ``mlflow``; restored afterwards."""
    ipython = InteractiveShell.instance()
    original = ipython.display_pub
    ipython.display_pub = CapturingDisplayPublisher()
    assert ipython.run_cell("import mlflow_trace_nb as mlflow").success
    yield ipython
    ipython.display_pub = original
    InteractiveShell.clear_instance()
