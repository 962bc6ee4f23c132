"""The shape of shared/: imports point down the layers in pyproject.toml (issue 22)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(config: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports from this venv over shared/, without writing a cache into the tree."""
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard only
        check=False,
    )


def test_every_import_contract_in_pyproject_is_kept() -> None:
    """Layers (shells > render | sources > delivery, alerts > report > schedule > leaves) and
    the forbidden arrows (report -> sources/alerts/render/delivery, sources <-> alerts) hold."""
    run = lint_imports(ROOT / "pyproject.toml")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout, run.stdout


def test_the_checker_reports_an_arrow_that_exists(tmp_path: Path) -> None:
    """A contract forbidding a real import (sources use report's Facts) is reported broken,
    so a kept contract means the graph was read, not that nothing was checked."""
    config = tmp_path / "probe.ini"
    config.write_text(
        "[importlinter]\nroot_packages =\n    shared\n\n"
        "[importlinter:contract:probe]\nname = probe\ntype = forbidden\n"
        "source_modules =\n    shared.sources.gathering\n"
        "forbidden_modules =\n    shared.report.facts\n"
    )
    run = lint_imports(config)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "shared.sources.gathering -> shared.report.facts" in run.stdout, run.stdout
