"""The instance, launcher and worker configs in deploy/ and dagster.yaml validate against Dagster's own schemas."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
INSTANCES = [
    ROOT / "dagster.yaml",
    DEPLOY / "dagster.yaml",
    DEPLOY / "k8s" / "dagster.yaml",
    DEPLOY / "celery" / "dagster.yaml",
]
PLUGGABLE = ("run_coordinator", "run_launcher", "compute_logs", "local_artifact_storage", "scheduler")
ENV = {
    "DAGSTER_POSTGRES_URL": "postgresql+psycopg2://dagster:secret@db:5432/speaking",
    "DAGSTER_K8S_NAMESPACE": "speaking",
    "DAGSTER_COMPUTE_LOGS_BUCKET": "speaking-logs",
    "DAGSTER_CELERY_BROKER_URL": "redis://redis:6379/0",
    "DAGSTER_CELERY_BACKEND_URL": "redis://redis:6379/1",
}


def validate_instance(text: str, tmp_path: Path) -> dict[str, Any]:
    """What Dagster does when it loads $DAGSTER_HOME/dagster.yaml, plus each pluggable class's own schema.

    ``dagster_instance_config`` accepts any ``config:`` under a ``module``/``class`` entry (its schema is
    Permissive there); the class checks it when the instance builds it, so we check it the same way
    (``process_config`` on the class's ``config_type``, env sources resolved) without building a K8s client.
    """
    (tmp_path / "dagster.yaml").write_text(text)
    config, _ = dagster_instance_config(str(tmp_path))
    for key in PLUGGABLE:
        if key not in config:
            continue
        entry = config[key]
        klass = getattr(importlib.import_module(entry["module"]), entry["class"])
        result = process_config(resolve_to_config_type(klass.config_type()), entry.get("config") or {})
        if not result.success:
            raise DagsterInvalidConfigError(
                f"{key}: {entry['class']} config is invalid", result.errors, entry
            )
    return dict(config)


@pytest.fixture(autouse=True)
def _deploy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_instance_configs_validate(path: Path, tmp_path: Path) -> None:
    config = validate_instance(path.read_text(), tmp_path)
    assert config["telemetry"] == {"enabled": False}
    assert config["run_retries"]["enabled"] and not config["run_retries"]["retry_on_asset_or_op_failure"]
    for daemon in ("sensors", "backfills"):  # a tick's or backfill's runs are submitted from 4 threads
        assert config[daemon] == {"use_threads": True, "num_workers": 4, "num_submit_workers": 4}


def test_production_instance_has_the_promised_limits(tmp_path: Path) -> None:
    config = validate_instance((DEPLOY / "dagster.yaml").read_text(), tmp_path)
    assert config["storage"] == {"postgres": {"postgres_url": {"env": "DAGSTER_POSTGRES_URL"}}}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    runs = config["concurrency"]["runs"]
    assert runs["max_concurrent_runs"] > 0
    assert {"key": "learner_id", "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in runs[
        "tag_concurrency_limits"
    ]
    assert config["concurrency"]["pools"]["granularity"] == "op"
    assert config["run_monitoring"]["enabled"]
    pools = (DEPLOY / "pools.sh").read_text()
    assert all(f"instance concurrency set {pool} " in pools for pool in ("openai", "anthropic", "local_cpu"))


@pytest.mark.parametrize("variant", ["k8s", "celery"])
def test_scale_out_instances_differ_only_in_how_runs_launch(variant: str) -> None:
    """Drift guard: the limits, retries and storage of every deployment are the production ones."""
    base = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    other = yaml.safe_load((DEPLOY / variant / "dagster.yaml").read_text())
    launch = {"run_launcher", "compute_logs", "run_monitoring"}
    assert {k: v for k, v in other.items() if k not in launch} == {
        k: v for k, v in base.items() if k not in launch
    }
    assert other["run_launcher"]["class"] == {"k8s": "K8sRunLauncher", "celery": "CeleryRunLauncher"}[variant]
    k8s = yaml.safe_load((DEPLOY / "k8s" / "dagster.yaml").read_text())
    assert {k for k in set(k8s) | set(other) if k8s.get(k) != other.get(k)} <= {"run_launcher"}, (
        "deploy/README.md says the scale-out configs differ only in run_launcher"
    )
    if variant == "celery":
        assert other["run_launcher"]["module"] == "launchers.celery_runs", (
            "the heartbeat launcher, not the stock one"
        )
    assert other["run_monitoring"]["max_resume_run_attempts"] >= 1, "these launchers can resume a dead worker"
    if variant == "celery":
        config = other["run_launcher"]["config"]
        assert config["pending_timeout_seconds"] == 600 and config["finish_grace_seconds"] == 60, (
            "every task state the launcher reads is bounded"
        )
        assert other["run_monitoring"]["max_runtime_seconds"] == 3600, "a hung worker's run ends"


def test_celery_worker_app_reads_its_broker_when_configured_not_at_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from launchers import celery_runs, celery_worker

    monkeypatch.setenv("DAGSTER_CELERY_BROKER_URL", "redis://broker.internal:6379/3")
    monkeypatch.setenv("DAGSTER_CELERY_BACKEND_URL", "redis://backend.internal:6379/4")
    app = celery_worker.Celery("probe")
    app.on_configure.connect(celery_worker._configure)
    assert app.conf.broker_url == "redis://broker.internal:6379/3"
    assert app.conf.result_backend == "redis://backend.internal:6379/4"
    assert app.conf.worker_prefetch_multiplier == 1 and app.conf.worker_disable_prefetch
    assert not app.conf.task_acks_late, "a lost worker's run is resumed by run monitoring, never redelivered"
    assert set(celery_runs.app.tasks) >= {celery_runs.EXECUTE_TASK, celery_runs.RESUME_TASK}


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        (DEPLOY / "dagster.yaml", "max_concurrent_runs:", "max_concurent_runs:"),  # instance schema
        (DEPLOY / "dagster.yaml", "granularity: op", "granularity: step"),  # a value Dagster doesn't know
        (DEPLOY / "dagster.yaml", "dequeue_num_workers:", "dequeue_num_worker:"),  # coordinator's schema
        (DEPLOY / "k8s" / "dagster.yaml", "instance_config_map:", "instance_configmap:"),  # K8sRunLauncher's
        (DEPLOY / "celery" / "dagster.yaml", "default_queue:", "default_queu:"),  # CeleryRunLauncher's
        (DEPLOY / "celery" / "dagster.yaml", "heartbeat_timeout_seconds:", "heartbeat_timeout:"),  # ours
    ],
)
def test_a_typo_fails_validation(path: Path, old: str, new: str, tmp_path: Path) -> None:
    text = path.read_text()
    assert old in text
    with pytest.raises(DagsterInvalidConfigError):
        validate_instance(text.replace(old, new, 1), tmp_path)
