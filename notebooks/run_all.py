"""Run every example notebook and leave the results to look at (the README's main command).

Each notebook in this folder is executed top to bottom in a fresh kernel, offline. For each,
the folder it prints at the end holds the executed notebook (with its outputs: open it in
JupyterLab) and an HTML page of it (the trace views as static HTML: open it in a browser, no
server needed). A notebook whose packages are not installed (``instrument_transformers``
needs the ``transformers`` extra and PyTorch) is skipped, saying so. The exit status is
non-zero if any notebook fails.

    python notebooks/run_all.py [--out DIR] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = Path("notebook-results")
# Notebooks that need optional packages the main install leaves out (no multi-GB download).
NEEDS = {"instrument_transformers.ipynb": ("transformers", "torch")}


def missing_packages(notebook: Path) -> list[str]:
    """The packages ``notebook`` needs that are not installed."""
    return [name for name in NEEDS.get(notebook.name, ()) if not importlib.util.find_spec(name)]


def run_notebook(notebook: Path, out: Path, timeout_s: int) -> None:
    """Execute ``notebook`` and write ``out/<name>.ipynb`` and ``out/<name>.html``."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    nb = nbformat.read(notebook, as_version=4)
    # Widget state stays out of the saved outputs, so every viewer (and the HTML page) shows
    # the trace views that live in the outputs themselves.
    client = NotebookClient(
        nb,
        timeout=timeout_s,
        kernel_name="python3",
        store_widget_state=False,
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    try:
        client.execute()
    finally:
        nbformat.write(nb, out / notebook.name)
        html, _ = HTMLExporter().from_notebook_node(nb)
        (out / notebook.with_suffix(".html").name).write_text(html, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the notebooks; 0 when every one that ran succeeded."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook here")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results folder")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(HERE.glob("*.ipynb"))
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    for notebook in notebooks:
        missing = missing_packages(notebook)
        if missing:
            print(f"skipped {notebook.name}: needs {', '.join(missing)} (not installed)")
            continue
        start = time.perf_counter()
        try:
            run_notebook(notebook, out, args.timeout)
        except Exception as error:  # report every notebook, then fail
            failed.append(notebook.name)
            print(f"FAILED  {notebook.name}: {type(error).__name__}: {error}".splitlines()[0])
        else:
            print(f"ok      {notebook.name} ({time.perf_counter() - start:.1f} s)")
    print(f"\nResults (executed notebooks and their HTML pages): {out}")
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
