"""Write dist/functionapp.zip: exactly what is deployed (azd, `make deploy` and CI ship it).

It holds host.json, requirements.txt, shared/ and every function folder (a folder with a
function.json, found, not listed); Azure's remote build installs requirements.txt beside it.
The zip is reproducible: sorted entries, fixed timestamps, no caches.

    python3 infra/scripts/package.py [--root .] [--out dist/functionapp.zip]
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

TOP_FILES = ("host.json", "requirements.txt")
PACKAGES = ("shared",)
SKIPPED_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")
# 1980-01-01, the earliest time a zip entry can carry: the same tree gives the same bytes.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def function_folders(root: Path) -> list[str]:
    """Every top-level folder holding a function.json (the v1 model's functions), sorted."""
    return sorted(p.parent.name for p in root.glob("*/function.json") if p.is_file())


def _files_under(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if any(part in SKIPPED_DIRS for part in path.relative_to(folder).parts):
            continue
        if path.is_file() and not path.name.endswith(SKIPPED_SUFFIXES):
            yield path


def package_files(root: Path) -> list[str]:
    """The zip's entries, as POSIX paths relative to `root`; raises if a part is missing."""
    missing = [name for name in (*TOP_FILES, *PACKAGES) if not (root / name).exists()]
    functions = function_folders(root)
    if missing or not functions:
        raise SystemExit(f"cannot package {root}: missing {missing or 'every function folder'}")
    names = list(TOP_FILES)
    for folder in (*PACKAGES, *functions):
        names.extend(p.relative_to(root).as_posix() for p in _files_under(root / folder))
    return sorted(names)


def build(root: Path, out: Path) -> list[str]:
    """Write the zip to `out`; returns its entries."""
    names = package_files(root)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, (root / name).read_bytes())
    partial.replace(out)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path())
    parser.add_argument("--out", type=Path, default=Path("dist/functionapp.zip"))
    args = parser.parse_args(argv)
    names = build(args.root, args.out)
    functions = ", ".join(function_folders(args.root))
    print(f"{args.out}: {len(names)} files; functions: {functions}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
