"""Generate the next Tortoise migration from the models: ``make migration NAME=what_changed``.

Tortoise's migration writer drops ``generated=False`` from primary keys whose
values the application supplies (our time-ordered ids). Without it the next
autodetection sees every such key as changed and proposes to drop and re-add it,
so this script writes the flag back into every migration file it finds.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "fediverse_cop" / "migrations"
_PK = re.compile(r"fields\.(BigIntField|IntField)\(\s*primary_key=True,\s*default=")


def restore_generated_flag(path: Path) -> bool:
    text = path.read_text()
    fixed = _PK.sub(r"fields.\1(primary_key=True, generated=False, default=", text)
    if fixed != text:
        path.write_text(fixed)
        return True
    return False


def main() -> int:
    if len(sys.argv) != 2 or not re.fullmatch(r"[a-z0-9_]+", sys.argv[1]):
        print("usage: makemigrations.py NAME  (lowercase letters, digits, underscores)")
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "migration_config.py"
        config.write_text(
            "from fediverse_cop.db import tortoise_config\n"
            f"TORTOISE_ORM = tortoise_config('sqlite://{scratch}/scratch.sqlite3')\n"
        )
        completed = subprocess.run(
            [
                str(Path(sys.executable).parent / "tortoise"),
                "-c",
                "migration_config.TORTOISE_ORM",
                "makemigrations",
                "--name",
                sys.argv[1],
            ],
            cwd=ROOT,
            env={"PYTHONPATH": f"{scratch}:{ROOT}", "PATH": "/usr/bin:/bin"},
            check=False,
        )
    for path in sorted(MIGRATIONS.glob("[0-9]*.py")):
        if restore_generated_flag(path):
            print(f"restored generated=False in {path.relative_to(ROOT)}")
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
