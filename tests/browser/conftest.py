"""Real-browser fixtures: one headless Chromium and one Jupyter server for the browser tests.

Fixtures (package-scoped: one browser and one server for all of ``tests/browser``, closed when
its last test ends, because Playwright's sync API marks an asyncio loop as running in the main
thread while it is open, which would break later ``asyncio.run`` tests):

- ``chromium_browser``: a Playwright ``Browser`` on Debian's ``/usr/bin/chromium``.
- ``jupyter_server``: JupyterLab 4 on 127.0.0.1 with isolated config/data dirs;
  an object with ``.url``, ``.token``, ``.root_dir`` and ``.notebook_url(name)``.
- ``notebook7_server``: the same for Notebook 7 (``jupyter notebook``).
- ``page`` (function): a fresh page (new context) in the shared browser; console errors are
  collected in ``page.console_errors``.

Helpers (import them from this module): ``write_notebook``, ``open_notebook``,
``run_all_cells``, ``wait_kernel_idle``, ``wait_cells_done``, ``run_notebook``,
``screenshot`` (of a page or a locator).

Each server loads this checkout's renderer extension: ``mlflow_trace_nb/labextension`` (built by
``npm run build``) is linked into the server's own data dir, as ``jupyter labextension develop``
would do; without a build the tests skip (fail under ``CI``).

Without ``/usr/bin/chromium`` (or Playwright) the browser tests are skipped, except when the
environment variable ``CI`` is set: then they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
LABEXTENSION = REPO_ROOT / "mlflow_trace_nb" / "labextension"
LABEXTENSION_NAME = "mlflow-trace-nb"
SERVER_START_TIMEOUT_S = 60.0
KERNEL_READY_TIMEOUT_MS = 60_000


def _require_browser() -> None:
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is not installed (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed"
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser tests need Chromium: {missing}")
    pytest.skip(missing)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="package")
def chromium_browser() -> Iterator[Any]:
    """One headless Chromium for all browser tests."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium_browser: Any) -> Iterator[Any]:
    """A fresh page (own context) sized for screenshots; collects console errors."""
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    new_page.on("pageerror", lambda exc: errors.append(str(exc)))
    new_page.console_errors = errors
    new_page.set_default_timeout(30_000)
    try:
        yield new_page
    finally:
        context.close()


@dataclass
class JupyterServer:
    """A running ``jupyter lab`` / ``jupyter notebook`` process."""

    url: str
    token: str
    root_dir: Path
    app: str  # "lab" or "notebook"
    process: subprocess.Popen[bytes]
    log_path: Path

    def notebook_url(self, name: str) -> str:
        """The browser URL that opens notebook ``name`` (relative to ``root_dir``)."""
        if self.app == "lab":
            return f"{self.url}/lab/tree/{name}?token={self.token}&reset"
        return f"{self.url}/notebooks/{name}?token={self.token}"

    def stop(self) -> None:
        """Shut the server (and its kernels) down; kill its process group if it lingers."""
        if self.process.poll() is None:
            request = urllib.request.Request(
                f"{self.url}/api/shutdown?token={self.token}", method="POST", data=b""
            )
            with contextlib.suppress(OSError):
                urllib.request.urlopen(request, timeout=5).close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=8)
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _status_ok(url: str, token: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def link_labextension(data_dir: Path) -> None:
    """Make this checkout's built renderer extension the one the server loads (what
    ``jupyter labextension develop`` does, inside the test's own data dir)."""
    if not (LABEXTENSION / "package.json").is_file():
        message = f"{LABEXTENSION} is not built: run `npm ci && npm run build`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    target = data_dir / "labextensions" / LABEXTENSION_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_symlink():
        target.symlink_to(LABEXTENSION, target_is_directory=True)


def start_jupyter(app: str, base: Path) -> JupyterServer:
    """Start ``jupyter lab`` or ``jupyter notebook`` under ``base`` (isolated dirs; calling
    it again with the same ``base`` is a new server on the same notebooks and settings)."""
    root = base / "root"
    settings = base / "settings"
    for sub in ("root", "config", "data", "runtime", "ipython", "settings", "workspaces"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    link_labextension(base / "data")
    port = free_port()
    token = "mtnbtest"
    app_class = "LabApp" if app == "lab" else "JupyterNotebookApp"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab" if app == "lab" else "notebook",
        "--no-browser",
        "--allow-root",
        f"--ServerApp.token={token}",
        "--ServerApp.ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--{app_class}.expose_app_in_browser=True",
        f"--{app_class}.news_url=None",
        f"--{app_class}.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabServerApp.user_settings_dir={settings}",
        f"--LabServerApp.workspaces_dir={base / 'workspaces'}",
    ]
    if app != "lab":
        cmd = [c for c in cmd if "news_url" not in c and "check_for_updates" not in c]
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        IPYTHONDIR=str(base / "ipython"),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONUNBUFFERED="1",
    )
    env.pop("MLFLOW_TRACE_NB_DESTINATION", None)
    log_path = base / f"{app}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        cmd,
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    server = JupyterServer(url, token, root, app, process, log_path)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter {app} exited: {log_path.read_text()[-3000:]}")
        if _status_ok(url, token):
            return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"jupyter {app} did not start: {log_path.read_text()[-3000:]}")


@pytest.fixture(scope="package")
def jupyter_server(chromium_browser: Any) -> Iterator[JupyterServer]:
    """JupyterLab 4 for all browser tests (requires the browser, so it skips with it)."""
    with tempfile.TemporaryDirectory(prefix="mtnb-lab-") as tmp:
        server = start_jupyter("lab", Path(tmp))
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="package")
def notebook7_server(chromium_browser: Any) -> Iterator[JupyterServer]:
    """Jupyter Notebook 7 for all browser tests."""
    with tempfile.TemporaryDirectory(prefix="mtnb-nb7-") as tmp:
        server = start_jupyter("notebook", Path(tmp))
        try:
            yield server
        finally:
            server.stop()


def write_notebook(root_dir: Path, name: str, cells: Sequence[str]) -> Path:
    """Write a notebook of code ``cells`` (no outputs) to ``root_dir / name``."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = root_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


_KERNEL_READY_JS = """(path) => {
  const app = window.jupyterapp;
  const w = app && app.shell && app.shell.currentWidget;
  if (!w || !w.context || !w.sessionContext) return false;
  if (w.context.path !== path || !w.context.isReady) return false;
  const session = w.sessionContext.session;
  const kernel = session && session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected'
      && w.sessionContext.kernelDisplayStatus === 'idle';
}"""


def open_notebook(page: Any, server: JupyterServer, name: str) -> None:
    """Open notebook ``name`` and wait until its kernel is connected and idle."""
    page.goto(server.notebook_url(name))
    wait_kernel_idle(page, name)


def wait_kernel_idle(page: Any, name: str, timeout_ms: int = KERNEL_READY_TIMEOUT_MS) -> None:
    """Wait until the current notebook is ``name`` and its kernel is connected and idle."""
    page.wait_for_function(_KERNEL_READY_JS, arg=name, timeout=timeout_ms, polling=100)


def run_all_cells(page: Any, *, wait: bool = True) -> None:
    """Run every cell of the current notebook.

    With ``wait=True`` this returns when all cells finished executing; with ``wait=False``
    it returns once execution has been requested (for watching live output).
    """
    if wait:
        page.evaluate(
            "async () => { await window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
        )
    else:
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def wait_cells_done(page: Any, timeout_ms: int = KERNEL_READY_TIMEOUT_MS) -> None:
    """Wait until no cell of the page shows the running prompt ``[*]``."""
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-InputArea-prompt')]"
        ".some(p => p.textContent.includes('[*]'))",
        timeout=timeout_ms,
        polling=100,
    )


def run_notebook(page: Any, server: JupyterServer, name: str) -> None:
    """Open notebook ``name``, run all its cells and wait until they are done and the kernel
    is idle again."""
    open_notebook(page, server, name)
    run_all_cells(page, wait=True)
    wait_cells_done(page)
    wait_kernel_idle(page, name)


def screenshot(page: Any, name: str, **kwargs: Any) -> Path:
    """Save a PNG screenshot of a page (or a locator) to ``test-artifacts/<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), **kwargs)
    return path
