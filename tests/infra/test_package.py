"""The one artifact: dist/functionapp.zip holds what runs in Azure and nothing else, and runs.

Each function's main() is imported (and one is called) in an isolated interpreter from the
unzipped package plus its requirements installed the way Azure's remote build does
(`pip install --target .python_packages/lib/site-packages -r requirements.txt`, from PyPI).
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "scripts"))
import package  # noqa: E402 - infra/scripts is not a package

NEVER_SHIPPED = ("tests/", "devtools/", "bench/", ".venv/", ".env", "out/", "infra/", "docs/")
# What the app's own code imports at run time; a missing one is a broken deploy.
IMPORTED_FROM_SITE_PACKAGES = ("azure.functions", "azure.data.tables", "azure.identity")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zip as `make package` writes it (same script, same arguments)."""
    out = tmp_path_factory.mktemp("dist") / "functionapp.zip"
    done = subprocess.run(  # noqa: S603 - our own script
        [
            sys.executable,
            str(ROOT / "infra/scripts/package.py"),
            "--root",
            str(ROOT),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return out


def entries(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()


def function_folders() -> list[str]:
    return sorted(p.parent.name for p in ROOT.glob("*/function.json"))


def test_the_package_holds_host_json_requirements_shared_and_every_function(built: Path) -> None:
    """Every folder with a function.json ships with its code; so do host.json and shared/."""
    names = set(entries(built))
    folders = function_folders()
    expected = {"DailyReport", "WeeklyReport", "BiWeeklyReport", "MonthlyReport", "AlertCheck"}
    assert expected | {"CustomReport", "AlertBacktest"} <= set(folders)
    assert package.function_folders(ROOT) == folders
    assert {"host.json", "requirements.txt", "shared/__init__.py", "shared/metrics.toml"} <= names
    for folder in folders:
        assert {f"{folder}/function.json", f"{folder}/__init__.py"} <= names


def test_the_package_leaves_out_tests_tools_secrets_and_caches(built: Path) -> None:
    """No tests/, devtools/, bench/, .venv, .env, out/, infra/, docs/, no bytecode."""
    shipped = [
        n
        for n in entries(built)
        if n.startswith(NEVER_SHIPPED) or "__pycache__" in n or n.endswith(".pyc")
    ]
    assert shipped == []


def test_the_package_is_reproducible(built: Path, tmp_path: Path) -> None:
    """The same tree gives the same bytes (fixed timestamps, sorted entries)."""
    again = tmp_path / "again.zip"
    package.build(ROOT, again)
    assert again.read_bytes() == built.read_bytes()


def funcignore_patterns() -> list[str]:
    lines = (ROOT / ".funcignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """gitignore-style: a pattern matches any component (or, with a '/', the path from root)."""
    parts = path.split("/")
    for pattern in patterns:
        if "/" in pattern.strip("/"):
            if fnmatch.fnmatch(path, pattern.strip("/")) or path.startswith(
                pattern.strip("/") + "/"
            ):
                return True
        elif any(fnmatch.fnmatch(part, pattern.strip("/")) for part in parts):
            return True
    return False


def repository_files() -> Iterator[str]:
    done = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    yield from (line for line in done.stdout.splitlines() if (ROOT / line).is_file())


def test_azd_and_make_package_ship_the_same_files(built: Path) -> None:
    """azd zips what .funcignore lets through; that must be exactly `make package`'s zip."""
    patterns = funcignore_patterns()
    through_funcignore = {f for f in repository_files() if not ignored(f, patterns)}
    assert through_funcignore == set(entries(built))


@pytest.fixture(scope="module")
def deployed(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zip unpacked and its requirements installed as Azure's remote build does."""
    site = tmp_path_factory.mktemp("wwwroot")
    with zipfile.ZipFile(built) as archive:
        archive.extractall(site)
    done = subprocess.run(  # noqa: S603 - pip from this interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(site / ".python_packages/lib/site-packages"),
            "-r",
            str(site / "requirements.txt"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,  # a hang guard for a slow index, not a speed limit
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return site


ISOLATED_SCRIPT = """
import importlib, json, sys
root, functions, packages = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
sys.path[:0] = [root, root + "/.python_packages/lib/site-packages"]
result = {"functions": {}, "packages": {}}
for name in functions:
    module = importlib.import_module(name)
    result["functions"][name] = [module.__file__, callable(getattr(module, "main", None))]
for name in packages:
    result["packages"][name] = importlib.import_module(name).__file__
import azure.functions as func
import CustomReport
request = func.HttpRequest(method="GET", url="/api/CustomReport", params={}, body=b"")
response = CustomReport.main(request)
result["custom_report"] = [response.status_code, json.loads(response.get_body())["error"]["code"]]
from shared.delivery.tables import IdentityStorage, table_client
client = table_client(IdentityStorage("https://stpackage.table.core.windows.net", "client-id"), "t")
result["table_client"] = [client.url, type(client.credential).__name__]
print(json.dumps(result))
"""


def test_each_main_imports_and_runs_from_the_package_alone(deployed: Path) -> None:
    """`python -I -S`: no site-packages, no repo, no environment; only the package and its deps."""
    folders = function_folders()
    done = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            ISOLATED_SCRIPT,
            str(deployed),
            json.dumps(folders),
            json.dumps(IMPORTED_FROM_SITE_PACKAGES),
        ],
        cwd=deployed,
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    for folder in folders:
        path, has_main = result["functions"][folder]
        assert path == str(deployed / folder / "__init__.py")
        assert has_main, f"{folder} has no main()"
    site_packages = str(deployed / ".python_packages/lib/site-packages")
    assert all(p.startswith(site_packages) for p in result["packages"].values()), result
    # No settings at all: the documented 500 answer, not an import error or a stack trace.
    assert result["custom_report"] == [500, "server_misconfigured"]
    assert result["table_client"] == [
        "https://stpackage.table.core.windows.net",
        "ManagedIdentityCredential",
    ]
