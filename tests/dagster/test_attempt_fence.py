"""Attempt fencing in the step: a process whose attempt the run no longer names stops before its next
stage and writes nothing; the attempt the run names runs as usual."""

from __future__ import annotations

import multiprocessing
import os
import socket
from pathlib import Path

import dagster as dg
import pytest

from pipeline.domain.models import SessionState
from pipeline.status.store import StatusStore
from tests.support.materialize import offline_assets, offline_resource
from tests.support.sessions import add_session
from wiring.attempts import ATTEMPT_TAG, HOLDER_TAG, STALE_EXIT

TEXT = "Yesterday I go to the market and I buy a apple. Um, it was very very good, you know."


def _materialize(home: str, tmp: str, holder_pid: int | None, current_attempt: str) -> None:
    """In a forked child: materialize session s1 as attempt a1, held by ``holder_pid`` (None: this process)."""
    pid = os.getpid() if holder_pid is None else holder_pid
    tags = {ATTEMPT_TAG: current_attempt, HOLDER_TAG: f"attempt=a1 host={socket.gethostname()} pid={pid}"}
    with dg.DagsterInstance.from_config(home) as instance:
        resource = offline_resource(Path(tmp), Path(tmp) / "uploads")
        dg.materialize(
            offline_assets(), instance=instance, resources={"pipeline": resource}, partition_key="s1",
            tags=tags, raise_on_error=False,
        )  # fmt: skip
    os._exit(0)


@pytest.mark.parametrize(
    ("holder", "current", "fenced"),
    [
        ("this process", "a1", False),
        ("another process", "a1", True),  # resumed elsewhere: another worker holds the run now
        ("this process", "a2", True),  # superseded: monitoring sent attempt a2, not started yet
    ],
)
def test_a_stale_attempt_stops_before_its_stage_and_writes_nothing(
    tmp_path: Path, holder: str, current: str, fenced: bool
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    add_session(tmp_path / "uploads", "ana", "s1", text=TEXT)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("sessions", ["s1"])
    other_pid = os.getpid()  # alive, and not the child's
    child = multiprocessing.get_context("fork").Process(
        target=_materialize,
        args=(str(home), str(tmp_path), other_pid if holder == "another process" else None, current),
    )
    child.start()
    child.join(timeout=120)
    assert child.exitcode == (STALE_EXIT if fenced else 0)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        materialized = instance.get_materialized_partitions(dg.AssetKey("transcript"))
    results = list((tmp_path / "results").rglob("*.json")) if (tmp_path / "results").exists() else []
    status = StatusStore(f"sqlite:///{tmp_path}/status.db")
    try:
        row = status.get("s1")
    finally:
        status.dispose()
    if fenced:
        assert materialized == set() and results == [], "a stale attempt wrote a result"
        assert row is None or row.state is not SessionState.DONE
    else:
        assert materialized == {"s1"} and row is not None and row.state is SessionState.DONE
