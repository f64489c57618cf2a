"""Imports flow one way, orchestration → jobs → assets → lake, trading: ``trading`` imports
neither Dagster nor the lake (nor anything above them), ``lake`` does not import Dagster, and
nothing imports a layer above its own. Checked on the source, every module, any depth."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "trading": ("dagster", "lake", "assets", "jobs", "orchestration"),
    "lake": ("dagster", "assets", "jobs", "orchestration"),
    "assets": ("jobs", "orchestration"),
    "jobs": ("orchestration",),
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_above_it(package: str) -> None:
    offenders = sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in _imports(path) & set(FORBIDDEN[package])
    )
    assert offenders == []
