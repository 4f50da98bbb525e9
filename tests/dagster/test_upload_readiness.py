"""Readiness under the real uploads sensor: a marker written before the media commits nothing, so a
half-written upload is never requested and a complete one is requested once (issue 18, item 4)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import pytest

from tests.support.materialize import offline_resource
from tests.support.sensor_ticks import offline_uploads_sensor, tick


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def sensor(monkeypatch: pytest.MonkeyPatch) -> dg.SensorDefinition:
    return offline_uploads_sensor(monkeypatch)


def test_marker_first_then_media_still_being_written_is_requested_once_complete(
    sensor, instance, tmp_path: Path, uploads_dir: Path
) -> None:
    folder = uploads_dir / "ana" / "s1"
    folder.mkdir(parents=True)
    marker = folder / "session.json"
    marker.write_text('{"language": "en"}')
    past = time.time() - 60
    os.utime(marker, (past, past))  # the marker went first, a minute ago
    media = folder / "transcript.txt"
    media.write_text("Yesterday I went to the")  # the copy is under way
    resource = offline_resource(tmp_path, uploads_dir, quiet_seconds=1.0)

    requested: list[str] = []
    data = tick(sensor, instance, resource)
    requested += [r.run_key for r in data.run_requests]
    assert requested == [], "a marker older than the media does not make a half-written upload ready"

    with media.open("a") as handle:
        handle.write(" market and bought apples.")  # the copy finishes
    data = tick(sensor, instance, resource, cursor=data.cursor)
    requested += [r.run_key for r in data.run_requests]
    assert requested == [], "the media just changed: not quiet yet"

    time.sleep(1.2)
    for _ in range(3):  # quiet now: requested exactly once, at the complete content
        data = tick(sensor, instance, resource, cursor=data.cursor)
        requested += [r.run_key for r in data.run_requests]
    assert len(requested) == 1 and requested[0].startswith("s1:")


def test_marker_written_after_the_media_commits_it_at_once(
    sensor, instance, tmp_path: Path, uploads_dir: Path
) -> None:
    folder = uploads_dir / "ana" / "s2"
    folder.mkdir(parents=True)
    (folder / "transcript.txt").write_text("Complete.")
    (folder / "session.json").write_text("{}")
    resource = offline_resource(tmp_path, uploads_dir, quiet_seconds=3600.0)
    assert [r.partition_key for r in tick(sensor, instance, resource).run_requests] == ["s2"]
