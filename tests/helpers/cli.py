"""The `townhall` command as a user runs it, against a test database."""

from __future__ import annotations

import os
import subprocess
import sys


def townhall(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TOWNHALL_DATABASE_URL": database_url,
        "TOWNHALL_DOMAIN": "example.org",
        # Cheap hashing, as the test servers use (tests/conftest.py).
        "TOWNHALL_ARGON2_TIME_COST": "1",
        "TOWNHALL_ARGON2_MEMORY_KIB": "1024",
    }
    return subprocess.run(
        [sys.executable, "-m", "townhall", *args], env=env, capture_output=True, text=True
    )
