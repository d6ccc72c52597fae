"""Every parameter Litestar fills in says where from: `NamedDependency[...]` for what it
injects, `FromPath[...]` / `FromQuery[...]` for what it reads from the request.

Litestar warns when it infers either from a bare parameter (an unmarked
`people: PeopleService` since 2.24, `username: str` before that), and 3.0 stops doing
it. pyproject's `filterwarnings` makes the warnings errors in the test process, but the
server the tests speak to runs in a process of its own (tests/conftest.py) and the
in-process documents (tests/helpers/contract.py) build only the APIs' routers, without
the console, the app-wide providers or the web routes; so the whole application is built
here, as `townhall serve` builds it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BUILD = """
import warnings
from litestar.exceptions import LitestarDeprecationWarning
warnings.filterwarnings("error", ".*Inferred dependency", LitestarDeprecationWarning)
# path, query, header and cookie parameters (and dependencies) in a style 3.0 drops
warnings.filterwarnings("error", ".*declared using deprecated", LitestarDeprecationWarning)
from townhall.app import create_app
create_app()
"""


def test_the_application_infers_no_dependency_or_parameter(tmp_path: Path) -> None:
    # A process of its own: create_app() sets up the root logger, which must not leak
    # into the other tests of this worker.
    built = subprocess.run(
        [sys.executable, "-c", BUILD],
        env={**os.environ, "TOWNHALL_DATA_DIR": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
