"""The Sieve before-script Townhall renders refuses exactly the senders the routing
core refuses: Pigeonhole's own `sieve-test` runs it for a grid of senders, and its
verdict must equal `matches` (black list, unless white-listed)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.helpers.engines import SEARCH_PATH, engines_present
from townhall.services.sender_lists import matches, sieve_script

pytestmark = pytest.mark.engines

BLACK = ["bad.test", "spam*@*.example", "sp?m@x.test", "exact@here.test", "*@*worse.test"]
WHITE = ["boss@bad.test", "spam-ok@a.example"]
SENDERS = [
    "a@bad.test",
    "boss@bad.test",
    "BOSS@Bad.Test",
    "a@sub.bad.test",
    "spammer@b.example",
    "spam-ok@a.example",
    "spam@example",
    "spam@x.test",
    "sp?m@x.test",
    "exact@here.test",
    "inexact@here.test",
    "x@muchworse.test",
    "x@worse.test",
    "friend@good.test",
]


def _discarded(tool: str, folder: Path, script: Path, sender: str) -> bool:
    ran = subprocess.run(
        [
            *(tool, "-c", str(folder / "sieve.conf")),
            *("-o", f"mail_location=maildir:{folder}/mail"),
            *("-f", sender, str(script), str(folder / "message.eml")),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert ran.returncode == 0 and "final result: success" in ran.stderr + ran.stdout, ran
    return "store message" not in ran.stdout


@pytest.mark.parametrize("white", [WHITE, []], ids=["with-white-list", "black-only"])
def test_the_script_refuses_whom_the_core_refuses(white: list[str]) -> None:
    engines_present()
    tool = shutil.which("sieve-test", path=SEARCH_PATH)
    assert tool is not None, "sieve-test comes with dovecot-sieve (see .ci/run)"
    with tempfile.TemporaryDirectory(prefix="th-sieve-") as scratch:
        _check(tool, Path(scratch), white)


def _check(tool: str, folder: Path, white: list[str]) -> None:
    """sieve-test runs as the mail user (nobody): the folder is theirs to read."""
    (folder / "sieve.conf").write_text("mail_uid = nobody\nmail_gid = nogroup\n")
    (folder / "message.eml").write_text("From: someone@x.test\nSubject: hi\n\nbody\n")
    rendered = sieve_script(sorted(BLACK), sorted(white))
    assert rendered is not None
    script = folder / "senders.sieve"
    script.write_text(rendered)
    for path in folder.iterdir():
        path.chmod(0o644)
    folder.chmod(0o777)
    for sender in SENDERS:
        refused = any(matches(p, sender) for p in BLACK) and not any(
            matches(p, sender) for p in white
        )
        assert _discarded(tool, folder, script, sender) is refused, (sender, rendered)
    assert sieve_script([], white) is None
