"""Spec: no module of shared/ imports one that imports it back, directly or through others."""

from __future__ import annotations

import grimp  # import-linter's graph of the project's imports (requirements-dev.txt)


def cycles(package: str) -> set[tuple[str, str]]:
    """Every pair (a, b) where a imports b and b leads back to a (type-only imports included)."""
    graph = grimp.build_graph(package)
    found: set[tuple[str, str]] = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.find_shortest_chain(importer=imported, imported=module):
                found.add((min(module, imported), max(module, imported)))
    return found


def test_shared_has_no_import_cycle() -> None:
    """settings and email settings once imported each other; no pair may do so again."""
    assert cycles("shared") == set()
