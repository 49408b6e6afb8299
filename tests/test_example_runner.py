"""``notebooks/run_all.py`` (the README's main command) leaves executed notebooks and HTML
pages behind, skips notebooks whose packages are missing, and fails when a notebook fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

RUNNER = Path(__file__).resolve().parents[1] / "notebooks" / "run_all.py"


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nb, path)
    return path


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUNNER), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_results_folder_holds_outputs_and_static_views(tmp_path: Path) -> None:
    good = _notebook(
        tmp_path / "good.ipynb",
        f"import mlflow_trace_nb as mlflow\n"
        f"mlflow.tracing.set_destination('sqlite:///{tmp_path / 'g.db'}')\n"
        "mlflow.enable_notebook_display()",
        "with mlflow.start_span('visible-step') as span:\n    span.set_inputs({'q': 1})",
    )
    out = tmp_path / "results"
    done = _run(good, "--out", out)
    assert done.returncode == 0, done.stderr
    assert f"Results (executed notebooks and their HTML pages): {out}" in done.stdout
    executed = nbformat.read(out / "good.ipynb", as_version=4)
    assert executed.cells[1].outputs, "the executed notebook keeps its outputs"
    html = (out / "good.html").read_text(encoding="utf-8")
    assert "visible-step" in html  # the static trace view is in the page


def test_a_failing_notebook_fails_the_run_but_the_others_still_run(tmp_path: Path) -> None:
    bad = _notebook(tmp_path / "bad.ipynb", "raise RuntimeError('boom')")
    good = _notebook(tmp_path / "fine.ipynb", "1 + 1")
    out = tmp_path / "results"
    done = _run(bad, good, "--out", out)
    assert done.returncode == 1
    assert "FAILED  bad.ipynb" in done.stdout and "ok      fine.ipynb" in done.stdout
    assert (out / "bad.html").exists() and (out / "fine.html").exists()


def test_notebook_needing_missing_packages_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sys.path.insert(0, str(RUNNER.parent))
    try:
        import run_all
    finally:
        sys.path.remove(str(RUNNER.parent))
    needs = {"x.ipynb": ("surely_not_installed_pkg",)}
    monkeypatch.setattr(run_all, "NEEDS", needs)
    _notebook(tmp_path / "x.ipynb", "1")
    assert run_all.missing_packages(tmp_path / "x.ipynb") == ["surely_not_installed_pkg"]
    assert run_all.main([str(tmp_path / "x.ipynb"), "--out", str(tmp_path / "r")]) == 0
