"""A Dagster webserver on a temporary instance (processed sessions, one failed, the views) and Playwright's Chromium.

The browser is Debian's ``chromium`` (``executable_path``): Playwright downloads no browser here.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from assets.views import view_assets
from tests.support.daemon import daemon_env
from tests.support.materialize import materialize_sessions, offline_resource
from tests.support.sessions import ROOT, add_session

ARTIFACTS = ROOT / ".artifacts" / "browser"
TEXT = (
    "Yesterday I go to the market and I buy a apple. She don't like the market. "
    "Um, it was very very good, you know. I think it was very nice."
)
#: A transcript trying to inject markdown and HTML into the operators' UI.
HOSTILE = (
    "I go there yesterday ![x](http://evil/) and [click](http://evil) <img src=x> it was very very good."
)


#: A session whose empty transcript fails it: its partition pages must say why.
FAILED = ("cat", "cat-1")
WIDTH, HEIGHT = 1600, 1100


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright's launch arguments, on the system chromium (no browser download)."""
    binary = chromium_binary()
    if binary is None:
        pytest.skip(
            "no chromium on PATH: install Debian's `chromium` (.ci/run does) to run the browser tests"
        )
    return {
        **browser_type_launch_args,
        "executable_path": binary,
        "args": ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": WIDTH, "height": HEIGHT}}


@dataclass(frozen=True)
class Server:
    url: str
    home: Path
    results: Path


def _wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"dagster-webserver exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"dagster-webserver not up after {timeout:.0f}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if chromium_binary() is None:
        pytest.skip(
            "no chromium on PATH: install Debian's `chromium` (.ci/run does) to run the browser tests"
        )
    tmp = tmp_path_factory.mktemp("ui")
    uploads, home = tmp / "uploads", tmp / "dagster_home"
    uploads.mkdir()
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    sessions = [("ana", "ana-1", 3, TEXT), ("ana", "ana-2", 10, TEXT), ("ben", "ben-1", 5, HOSTILE)]
    for learner, session, day, text in [*sessions, (*FAILED, 6, "")]:
        add_session(
            uploads, learner, session, text=text, manifest=f'{{"recorded_at": "2026-01-{day:02d}T09:00:00Z"}}'
        )
    resource = offline_resource(tmp, uploads)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        keys = [s for _, s, _, _ in sessions]
        assert all(r.success for r in materialize_sessions(instance, resource, keys))
        [failed] = materialize_sessions(instance, resource, [FAILED[1]])
        assert not failed.success
        assert dg.materialize(view_assets, instance=instance, resources={"pipeline": resource}).success
    env = {**os.environ, "DAGSTER_HOME": str(home), **daemon_env(tmp)}
    port = free_port()
    log = tmp / "webserver.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("dagster-webserver")),
                "-w",
                str(ROOT / "workspace.yaml"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_http(f"http://127.0.0.1:{port}/server_info", process, log)
        yield Server(f"http://127.0.0.1:{port}", home, tmp / "results")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
