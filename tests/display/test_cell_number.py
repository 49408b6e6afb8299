"""The cell number in tags and ``%%trace`` names is the ``In [N]`` the user sees, checked in a
real kernel started by nbclient (IPython moved its counter's increment in 9.8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from mlflow_trace_nb.display.cell_number import learn_offset, running_cell_number

CELLS = [
    "import mlflow_trace_nb as mlflow\n%load_ext mlflow_trace_nb",
    "@mlflow.trace\ndef f(x):\n    return x\n\nf(1)",
    "%%trace\nf(2)",
    "f(3)",
    "mlflow.flush()\n"
    "df = mlflow.search_traces(order_by=['timestamp_ms ASC'])\n"
    "import json\n"
    "print(json.dumps([[t['mlflow.notebook.execution_count'], tr['name']] "
    "for t, tr in zip(df['tags'], df['spans'].map(lambda spans: spans[0]))]))",
]


def test_kernel_tags_match_the_numbers_shown(tmp_path: Path) -> None:
    db = tmp_path / "nb.db"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.cells.insert(
        0,
        nbformat.v4.new_code_cell(
            f"import os\nos.environ['MLFLOW_TRACE_NB_DESTINATION'] = {str(db)!r}"
        ),
    )
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={}).execute(cwd=str(tmp_path))
    shown = {cell.source: cell.execution_count for cell in nb.cells}
    printed = nb.cells[-1].outputs[0]["text"]
    pairs = json.loads(printed)
    assert pairs == [
        [str(shown[CELLS[1]]), "f"],
        [str(shown[CELLS[2]]), f"cell [{shown[CELLS[2]]}]"],
        [str(shown[CELLS[3]]), "f"],
    ]


class _Shell:
    def __init__(self, count: int) -> None:
        self.execution_count = count


class _Info:
    store_history = True
    silent = False


class _Result:
    def __init__(self, count: int) -> None:
        self.execution_count = count
        self.info = _Info()


@pytest.mark.parametrize("offset", [0, 1])
def test_offset_is_learned_from_a_finished_cell(offset: int, monkeypatch: Any) -> None:
    from mlflow_trace_nb.display import cell_number

    monkeypatch.setattr(cell_number, "_learned", None)
    learn_offset(7 + offset, _Result(7))
    assert running_cell_number(_Shell(8 + offset)) == 8
