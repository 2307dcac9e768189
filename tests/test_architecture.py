"""The import direction of DESIGN.md §2: ``activitypub/`` is protocol only."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_PACKAGES = ("fediverse_cop", "inbox", "outbox")
DATABASE_PACKAGES = ("tortoise", "asyncpg", "aiosqlite")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_activitypub_imports_nothing_of_the_app_or_the_database() -> None:
    files = sorted((ROOT / "activitypub").rglob("*.py"))
    assert files, "activitypub/ has no modules"
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in _imported_modules(path)
        if name.split(".")[0] in APP_PACKAGES + DATABASE_PACKAGES
    }
    assert offenders == set()


def test_the_checker_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import fediverse_cop.db\nfrom outbox import x\nfrom . import y\n")
    assert _imported_modules(sample) == {"fediverse_cop.db", "outbox"}
