"""The signature layer is protocol only: no application, inbox or outbox imports."""

from __future__ import annotations

import subprocess
import sys


def test_signatures_import_nothing_from_the_app() -> None:
    code = (
        "import sys, activitypub.signatures, activitypub.keys;"
        "bad = sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('fediverse_cop', 'inbox', 'outbox', 'tortoise'));"
        "print(','.join(bad))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert output == ""
