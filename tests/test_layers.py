"""The layer rule (README.md, "Layout"): imports only go down (hw < kernel < obs < front ends)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "pagelab"
FORBIDDEN = {
    "hw": (
        "pagelab.kernel",
        "pagelab.obs",
        "pagelab.cli",
        "pagelab.api",
        "pagelab.demo",
        "pagelab.bench",
        "pagelab.programs",
    ),
    "kernel": ("pagelab.obs", "pagelab.cli", "pagelab.api", "pagelab.demo", "pagelab.bench", "pagelab.programs"),
    "obs": ("pagelab.cli", "pagelab.api", "pagelab.demo", "pagelab.bench"),
}


def imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_only_go_down(layer: str) -> None:
    files = sorted((PKG / layer).rglob("*.py"))
    assert files
    for f in files:
        for name in imports(f):
            assert not name.startswith(FORBIDDEN[layer]), f"{f.name} imports {name}"
