"""deploy/compose.yaml and the systemd units, checked as far as a machine without Docker or systemd can."""

from __future__ import annotations

import configparser
import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cluster import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
#: The keys of the compose specification this file may use (top level and per service).
TOP_KEYS = {"services", "volumes", "configs", "networks", "secrets", "name"}
SERVICE_KEYS = {
    "build", "image", "restart", "environment", "env_file", "depends_on", "command", "entrypoint",
    "ports", "volumes", "healthcheck", "configs", "deploy", "stop_grace_period", "networks",
}  # fmt: skip
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|TOKEN|HASH", re.I)
VARIABLE = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")
APP_SERVICES = {"speaking-pipeline-code", "worker", "daemon", "webserver"}


@pytest.fixture(scope="module")
def text() -> str:
    return (DEPLOY / "compose.yaml").read_text()


@pytest.fixture(scope="module")
def compose(text: str) -> dict[str, Any]:
    return yaml.safe_load(text)  # anchors and `<<` merges resolved, as compose resolves them


def example_env() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (DEPLOY / "compose.env.example").read_text().splitlines())
    return {key.strip(): value for key, value in (p for p in pairs if len(p) == 2) if not key.startswith("#")}


def test_the_structure_is_what_compose_accepts(compose: dict[str, Any]) -> None:
    assert {k for k in compose if not k.startswith("x-")} <= TOP_KEYS
    services = compose["services"]
    for name, service in services.items():
        assert set(service) <= SERVICE_KEYS, f"{name}: unknown keys {set(service) - SERVICE_KEYS}"
        assert "image" in service, f"{name} has no image"
        for dependency, how in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on a service that does not exist: {dependency}"
            assert how["condition"] in CONDITIONS
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in compose["volumes"], f"{name}: undeclared volume {volume}"
        for config in service.get("configs", []):
            assert config["source"] in compose["configs"]
        assert isinstance(service.get("command", []), list), f"{name}: exec-form commands only"


def test_every_variable_is_in_the_example_env_or_has_a_default(text: str) -> None:
    defined = example_env()
    for match in VARIABLE.finditer(text):
        name, rest = match.group(1), match.group(0)
        assert name in defined or ":-" in rest, f"${{{name}}} is neither in compose.env.example nor defaulted"
    assert (ROOT / ".gitignore").read_text().count("/deploy/.env") == 1, "the real env file is not ignored"
    assert "deploy/.env" in (ROOT / ".dockerignore").read_text().splitlines(), "the image would hold secrets"


def test_images_are_pinned_and_nothing_secret_is_written_in_the_file(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: image {image} is not pinned"
        env = service.get("environment") or {}
        for key, value in env.items():
            if SECRET_NAME.search(key) and value:
                assert str(value).startswith("${"), f"{name}: {key} is written in the file"
        for key in ("DAGSTER_POSTGRES_URL", "DAGSTER_CELERY_BROKER_URL", "DAGSTER_CELERY_BACKEND_URL"):
            if key in env:  # user:password@ of a URL comes from the env file
                assert re.search(r":\$\{\w+:\?[^}]*\}@", env[key]), f"{name}: {key} has no password from .env"
    redis = compose["services"]["redis"]
    assert "--requirepass" in " ".join(redis["command"])


def test_the_webserver_is_reached_only_through_the_authenticating_proxy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy", "minio"}, published
    caddyfile = compose["configs"]["caddyfile"]["content"]
    assert "basic_auth" in caddyfile and "reverse_proxy webserver:3000" in caddyfile
    assert "-p" in services["webserver"]["command"] and "3000" in services["webserver"]["command"]


def test_the_app_runs_the_celery_deployment_and_its_commands_exist_here(compose: dict[str, Any]) -> None:
    """Every command the app's containers run: its program in this environment, its module, its files."""
    services = compose["services"]
    build = services["worker"]["build"]["dockerfile_inline"]
    assert "deploy/celery/dagster.yaml" in build, "the image's instance is the Celery one"
    for name in APP_SERVICES:
        command = services[name]["command"]
        assert (BIN / command[0]).exists(), f"{name}: {command[0]} is not in the project's environment"
        for flag, value in zip(command, command[1:], strict=False):
            if flag in ("-m", "-A"):
                assert importlib.util.find_spec(value) is not None, f"{name}: no module {value}"
            if flag == "-w":
                assert (ROOT / value).exists(), f"{name}: no file {value}"
        assert services[name]["environment"]["DAGSTER_COMPUTE_LOGS_BUCKET"] == "dagster-logs"
    assert "local/dagster-logs" in " ".join(services["minio-init"]["entrypoint"]), "no bucket for step logs"
    assert services["worker"]["deploy"]["replicas"] >= 2
    workspace = yaml.safe_load((DEPLOY / "workspace.grpc.yaml").read_text())
    [location] = workspace["load_from"]
    assert location["grpc_server"]["host"] == "speaking-pipeline-code"
    assert location["grpc_server"]["port"] == int(services["speaking-pipeline-code"]["command"][-1])


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server on this machine")
def test_the_redis_command_runs_on_the_host_and_requires_its_password(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    """The container's redis-server command, run here (on a free port, in a temporary dir)."""
    import redis

    script = compose["services"]["redis"]["command"][-1].replace("$$", "$")
    argv = shlex.split(script.removeprefix("exec ").replace('"$REDIS_PASSWORD"', "pw-from-env"))
    port = free_port()
    server = subprocess.Popen(
        [*argv, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                assert redis.Redis(port=port, password="pw-from-env").ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline and server.poll() is None, "redis-server did not start"
                time.sleep(0.05)
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).get("x")
    finally:
        server.terminate()
        server.wait(timeout=10)


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign] - systemd keys are case-sensitive
    parser.read_string(path.read_text().replace("\\\n", " "))
    return parser


@pytest.mark.parametrize("path", sorted((DEPLOY / "systemd").glob("*.service")), ids=lambda p: p.name)
def test_systemd_units_run_programs_of_the_environment_with_the_env_file(path: Path) -> None:
    service = unit(path)["Service"]
    program = shlex.split(service["ExecStart"])[0]
    assert program.startswith("/opt/speaking-pipeline/.venv/bin/")
    assert (BIN / Path(program).name).exists(), f"{program} is not a program of this environment"
    assert service["EnvironmentFile"] == "/etc/speaking-pipeline/env"
    assert not any(SECRET_NAME.search(line) for line in service.get("Environment", "").split())


def test_restarting_the_daemon_leaves_the_runs_of_its_code_server_alone() -> None:
    """KillMode=process: only the daemon stops; the guide promises runs in flight go on."""
    assert unit(DEPLOY / "systemd" / "dagster-daemon.service")["Service"]["KillMode"] == "process"
    guide = (DEPLOY / "README.md").read_text()
    assert "`KillMode=process`" in guide and "runs in flight go on" in guide
