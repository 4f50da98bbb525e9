"""The architecture as a test: the core never imports Dagster or its layer, and its packages import downwards only."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.sessions import ROOT

CORE = ROOT / "pipeline"
#: Names nothing under pipeline/ may import: Dagster, its integrations, and the Dagster layer of this project.
FORBIDDEN_IN_CORE = ("dagster", "dagster_", "assets", "sensors", "wiring", "launchers")
#: What each package of the core may import, besides itself (docs/architecture.md draws the same picture).
ALLOWED = {
    "domain": set(),
    "config": {"domain"},
    "storage": {"domain", "config"},
    "status": {"domain", "config"},
    "providers": {"domain", "config", "storage"},
    "intake": {"domain", "config", "storage", "status"},
    "checks": {"domain", "config", "storage", "status"},
    "views": {"domain", "config", "storage", "status"},
    "stages": {"domain", "config", "storage", "status", "providers", "intake"},
    "alerts": {"domain"},
    "erasure": {"domain", "config", "storage", "status", "providers", "intake", "views"},
}
#: Modules at the root of pipeline/: command-line entry points that may use any package of the core.
ROOT_MODULES = {"__init__", "stale"}


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, at any depth of the file (lazy imports in functions included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def core_modules() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def test_the_core_never_imports_dagster_or_the_dagster_layer() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in core_modules()
        for line, name in imports_of(path)
        if name.split(".")[0] in FORBIDDEN_IN_CORE or name.startswith("dagster_")
    ]
    assert offenders == []


def test_core_packages_import_downwards_only() -> None:
    assert {p.name for p in CORE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(ALLOWED)
    offenders = []
    for path in core_modules():
        parts = path.relative_to(CORE).with_suffix("").parts
        if len(parts) == 1:
            assert parts[0] in ROOT_MODULES, f"pipeline/{path.name}: the core's root keeps entry points only"
            continue
        package = parts[0]
        for line, name in imports_of(path):
            target = name.split(".")
            if target[0] != "pipeline" or len(target) < 2 or target[1] in (package, *ROOT_MODULES):
                continue
            if target[1] not in ALLOWED[package]:
                offenders.append(f"{path.relative_to(ROOT)}:{line} ({package}) imports {name}")
    assert offenders == []


def test_the_layer_test_sees_a_violation(tmp_path: Path) -> None:
    """The walker finds lazy imports inside functions too (where the old text check looked for strings)."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    import dagster as dg\n    from assets.sessions import x\n")
    assert [name for _, name in imports_of(module)] == ["dagster", "assets.sessions"]


def test_the_dagster_layer_keeps_its_own_direction() -> None:
    """assets/ and sensors/ never import the composition root or the launchers; launchers never import the layer."""
    rules = {
        "assets": {"sensors", "launchers", "wiring.definitions", "wiring.jobs"},
        "sensors": {"launchers", "wiring.definitions"},
        "launchers": {"assets", "sensors", "wiring", "pipeline"},
    }
    offenders = []
    for package, forbidden in rules.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, name in imports_of(path):
                if any(name == f or name.startswith(f + ".") for f in forbidden):
                    offenders.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert offenders == []


def test_only_the_lifecycle_moves_a_session_between_states() -> None:
    """Every state write (``StatusStore.set_state``/``register``) goes through ``pipeline.stages.lifecycle``."""
    owner = {CORE / "stages" / "lifecycle.py", CORE / "status" / "store.py"}
    offenders = []
    for package in ("pipeline", "assets", "sensors", "wiring", "launchers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path in owner:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in {"set_state", "register"}
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} calls .{node.func.attr}()")
    assert offenders == []
