"""The uploads sensor as the daemon runs it, invoked in-process (one tick at a time) by the sensor tests."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pytest

from wiring.definitions import defs


def offline_uploads_sensor(monkeypatch: pytest.MonkeyPatch) -> dg.SensorDefinition:
    """The real uploads sensor with offline providers (no key needed to build its resources)."""
    monkeypatch.setenv("STT_PROVIDER", "offline")
    monkeypatch.setenv("ANALYZER_PROVIDER", "offline")
    return defs().get_sensor_def("uploads_sensor")


def tick(sensor: Any, instance: dg.DagsterInstance, resource: Any, cursor: str | None = None) -> Any:
    """One tick; invoking the sensor returns its SensorResult as the daemon receives it."""
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"pipeline": resource}
    ) as context:
        return sensor(context)
