"""Spec: no module in shared/ imports another module's private name (`from shared.x import _y`).

A name with a leading underscore may change without notice; a module that needs it from
elsewhere needs a public name, defined and documented where it lives.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def private_imports(source: str) -> list[str]:
    """Every `module.name` a source imports by `from ... import _name` from the project."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        module = "." * node.level + (node.module or "")
        if node.level == 0 and module.split(".")[0] != "shared":
            continue
        found += [f"{module}.{a.name}" for a in node.names if a.name.startswith("_")]
    return found


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from shared.render.plan import _fit_part", ["shared.render.plan._fit_part"]),
        ("from shared.settings import (\n    Secret,\n    _zone,\n)", ["shared.settings._zone"]),
        ("def f():\n    from shared.app import _notify\n", ["shared.app._notify"]),
        ("from .plan import _Span", [".plan._Span"]),
        ("from shared.render.plan import plan, Span", []),
        ("from __future__ import annotations", []),
        ("from os import _exit", []),
    ],
)
def test_the_scan_finds_private_names_imported_from_the_project(
    source: str, expected: list[str]
) -> None:
    assert private_imports(source) == expected


def test_no_module_in_shared_imports_a_private_name_from_another_module() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "shared").rglob("*.py"))
        for name in private_imports(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
