"""The `townhall` command as a user runs it, against a test database."""

from __future__ import annotations

import os
import subprocess
import sys


def townhall(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TOWNHALL_DATABASE_URL": database_url, "TOWNHALL_DOMAIN": "example.org"}
    return subprocess.run(
        [sys.executable, "-m", "townhall", *args], env=env, capture_output=True, text=True
    )
