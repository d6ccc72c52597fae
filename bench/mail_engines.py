"""Embedded mail against Postfix + Dovecot on the same box, in one run, on the same data:
deliveries per second through each path, and `/mail/{uid}` latency for a mailbox of
10,000 messages in each mail store mode (issue 13, "Speed").

One database (SQLite in a temporary folder, or `--postgres`: a new PostgreSQL
database, and the engines' least-privilege role made with `townhall mail engine-role`)
serves two Townhall processes and the engines:

- server A: the embedded receiver (TOWNHALL_SMTP_LISTEN) storing into Maildirs
  (TOWNHALL_MAIL_STORE=maildir), and Townhall's policy service for Postfix
  (TOWNHALL_MTA_POLICY_LISTEN);
- private Postfix and Dovecot instances rendered from deploy/ and started on loopback
  by tests/helpers/engines.py, the same helper the engine tests use (this script imports
  from tests/ on purpose: the rendering and starting must be the tested ones, not a
  second copy), reading people, forwards, quotas and Sieve before-scripts from that
  database;
- server B: counters through doveadm (TOWNHALL_MAIL_STORE=dovecot).

1. Deliveries: `--people` people, forwards `team-<n>@` (three people each) and a black
   list per person, made through the OX API; `--connections` smtplib connections in
   threads, each sending `--messages` messages that cycle through a direct recipient,
   an alias fanning out to three, and a sender the alias's first member black-lists
   (the routing core drops that copy in embedded mode, Dovecot's Sieve before-script
   behind Postfix). The same load runs against the embedded listener, then against
   Postfix; a delivery counts only once its file is in the recipient's Maildir (new/ or
   cur/), so Postfix's queue and LMTP are inside the clock. Prints both rates and the
   ratio embedded/engines (goal >= 0.5).
2. Counters: one person's INBOX gets `--mailbox-size` messages written straight into
   the Maildir (the files the embedded store writes), and a copy of that Maildir is
   given to Dovecot (the layout is the same; Dovecot indexes it on first access, done
   here with `doveadm mailbox status`, timed). Then `GET /oxaas/v1/mail/{address}` from
   one client, `--requests` times per mode: p50/p99/max (goal p99 < 20 ms).

    .venv/bin/python bench/mail_engines.py              # SQLite
    .venv/bin/python bench/mail_engines.py --postgres   # PostgreSQL (tests' server)

Seen so far (issue 13): each doveadm command cost ~25 ms at 10,000 messages whatever
it asked (Dovecot opens the user and the mailbox per command) and `search savedsince`
~70 ms (a save date per message; for Maildir, without a cached one, the file's ctime,
which the SELECT's new/ -> cur/ renames moved past the login: "new" counted them).
deploy/'s Dovecot now keeps the doveadm process and the userdb answer (~10 ms a
command) and caches save dates; the counters are one `mailboxStatus *` and a fetch of
five, and search only when the five newest are all new. The breakdown printed at the
end shows each command alone.

Needs root (Postfix start-fg, Dovecot switching to the mail uid) and the Debian
packages postfix, dovecot-imapd, dovecot-lmtpd, dovecot-sieve. Prints figures and the
commands it ran; never asserts.
"""

from __future__ import annotations

import argparse
import imaplib
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ox_mail import DOMAIN, PASSWORD, READER, fill, send_mix, set_up

from tests.conftest import ADMIN_PASSWORD, _free_port, start_server, stop_server
from tests.helpers.databases import fresh_database
from tests.helpers.engines import (
    SEARCH_PATH,
    Engines,
    drop_role,
    engine_ports,
    engine_role,
    running_engines,
)

QUIET = {"TOWNHALL_LOG_LEVEL": "warning", "TOWNHALL_OX_MAIL_CREDENTIAL": ":".join(READER)}


def say(text: str) -> None:
    print(text, flush=True)


def _stored(root: Path, names: list[str]) -> int:
    """Messages in the people's INBOX Maildirs (new/ and cur/)."""
    total = 0
    for name in names:
        for sub in ("new", "cur"):
            try:
                with os.scandir(root / DOMAIN / name / "Maildir" / sub) as found:
                    total += sum(1 for _ in found)
            except FileNotFoundError:
                pass
    return total


def deliveries(
    label: str, port: int, root: Path, names: list[str], connections: int, messages: int
) -> float:
    """Deliveries per second, from the first connection to the last file stored."""
    before = _stored(root, names)
    expected = [0] * connections

    def run(i: int) -> None:
        expected[i] = send_mix(port, names, messages, i * 7)[1]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = time.perf_counter() - started
    want = sum(expected)
    deadline = time.monotonic() + 120
    while (stored := _stored(root, names) - before) < want and time.monotonic() < deadline:
        time.sleep(0.02)
    took = time.perf_counter() - started
    rate = stored / took
    say(
        f"{label}: {connections} connections x {messages} messages accepted in {sent:.2f} s, "
        f"{stored:,}/{want:,} deliveries stored in {took:.2f} s: {rate:,.0f} deliveries/s "
        f"({connections * messages / took:,.0f} messages/s)"
    )
    return rate


def give_to_dovecot(maildir: Path, engines: Engines, name: str) -> Path:
    """A copy of the Maildir as the home Dovecot opens for the person (without the
    embedded store's own index), owned by the mail user."""
    home = engines.folder / "dc" / "mail" / DOMAIN / name
    target = home / "Maildir"
    shutil.copytree(maildir, target, ignore=shutil.ignore_patterns("townhall.index"))
    for path in (home.parent, home, *home.rglob("*")):
        shutil.chown(path, "nobody", "nogroup")
    return target


def _run(command: list[str]) -> float:
    say("  $ " + " ".join(command))
    began = time.perf_counter()
    ran = subprocess.run(command, capture_output=True, text=True, timeout=600)
    took = time.perf_counter() - began
    if ran.returncode != 0:
        say(f"    failed ({ran.returncode}): {ran.stderr.strip()[:300]}")
    else:
        lines = ran.stdout.strip().splitlines() or [""]
        more = f" (+{len(lines) - 1:,} more lines)" if len(lines) > 1 else ""
        say(f"    {lines[0][:200]}{more}  ({took:.1f} s)")
    return took


def counters(label: str, url: str, address: str, count: int) -> None:
    http = requests.Session()
    http.auth = READER
    target = f"{url}/oxaas/v1/mail/{address}"
    began = time.perf_counter()
    first = http.get(target, timeout=120)
    cold = (time.perf_counter() - began) * 1000
    if not first.ok:
        say(f"{label}: GET {target} answered {first.status_code}: {first.text[:300]}")
        return
    took: list[float] = []
    for _ in range(count):
        began = time.perf_counter()
        answer = http.get(target, timeout=120)
        took.append((time.perf_counter() - began) * 1000)
        if not answer.ok:
            say(f"{label}: GET answered {answer.status_code}: {answer.text[:300]}")
            return
    took.sort()
    p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
    body = first.json()
    say(
        f"{label}: /mail/{{uid}} on {body['mailQuota']['messages']:,} messages "
        f"({body['newmessages']} new, {body['unread']:,} unread), one client, "
        f"{count} requests: first {cold:.1f} ms, p50 {statistics.median(took):.1f} ms, "
        f"p99 {p99:.1f} ms, max {took[-1]:.1f} ms"
    )


def breakdown(engines: Engines, address: str, rounds: int = 20) -> None:
    """Where the Dovecot mode's time goes: each doveadm command of the counters' batch
    alone, one POST each (p50), and where Dovecot keeps the files."""
    import asyncio

    from townhall.infrastructure.mailstore.dovecot import FIELDS, DovecotStore, _status

    store = DovecotStore(engines.doveadm_url, engines.doveadm_key, f"127.0.0.1:{engines.lmtp_port}")
    inbox = ["mailbox", "INBOX"]
    commands = {
        "mailboxStatus * (used)": _status(address),
        "mailboxStatus INBOX": (
            "mailboxStatus",
            {"user": address, "field": ["messages", "unseen"], "mailboxMask": ["INBOX"]},
        ),
        "quotaGet": ("quotaGet", {"user": address}),
        "search savedsince": (
            "search",
            {"user": address, "query": [*inbox, "savedsince", str(int(time.time()) - 60)]},
        ),
        "fetch 9996:10015": (
            "fetch",
            {"user": address, "field": FIELDS, "query": [*inbox, "9996:10015"]},
        ),
        "fetch all": (
            "fetch",
            {"user": address, "field": FIELDS, "query": [*inbox, "all"]},
        ),
    }
    home = engines.folder / "dc" / "mail" / DOMAIN / address.split("@")[0] / "Maildir"
    files = {sub: sum(1 for _ in os.scandir(home / sub)) for sub in ("new", "cur")}
    say(f"  doveadm HTTP, one command per POST, p50 of {rounds} (Maildir {files}):")
    for label, command in commands.items():
        took = []
        for _ in range(rounds):
            began = time.perf_counter()
            rows = asyncio.run(store._batch([command]))[0]
            took.append((time.perf_counter() - began) * 1000)
        say(f"    {label:<22} {statistics.median(took):6.1f} ms  ({len(rows)} rows)")


def compare_deliveries(
    args: argparse.Namespace,
    smtp: int,
    mail_dir: Path,
    postfix: int,
    engines: Engines,
    names: list[str],
) -> None:
    load = (names, args.connections, args.messages)
    # A short warm-up of each path (connections, caches, Postfix's processes).
    deliveries("warm-up embedded", smtp, mail_dir, names, 1, 6)
    engines_root = engines.folder / "dc" / "mail"
    deliveries("warm-up engines ", postfix, engines_root, names, 1, 6)
    fast = deliveries("embedded listener       ", smtp, mail_dir, *load)
    slow = deliveries("Postfix -> Dovecot LMTP ", postfix, engines_root, *load)
    say(f"ratio embedded/engines: {fast / slow:.2f} (goal >= 0.5)")


@contextmanager
def database(postgres: bool, folder: Path) -> Iterator[tuple[str, str | None]]:
    """The database URL, and the engines' role on PostgreSQL (dropped once the
    database, which holds its grants, is gone)."""
    role: str | None = None
    try:
        with fresh_database("postgresql" if postgres else "sqlite", folder) as url:
            role = engine_role(url) if postgres else None
            yield url, role
    finally:
        if role is not None:
            drop_role(role)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL, not SQLite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--messages", type=int, default=150)
    parser.add_argument("--mailbox-size", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--unread-new",
        action="store_true",
        help="leave Dovecot's files in new/ (no IMAP SELECT): every doveadm command "
        "then lists 10,000 names",
    )
    parser.add_argument("--counters-only", action="store_true", help="skip the delivery rates")
    args = parser.parse_args()
    say("$ " + " ".join([os.path.relpath(sys.executable), *sys.argv]))
    if os.geteuid() != 0:
        raise SystemExit("needs root: Postfix start-fg and Dovecot's mail uid")
    # A SIGTERM (timeout(1)) unwinds like Ctrl-C, so the engines and servers stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    folder = Path(tempfile.mkdtemp(prefix="th-mailbench-"))
    folder.chmod(0o755)
    mail_dir = folder / "mail"
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, folder, True)
        url, role = stack.enter_context(database(args.postgres, folder))
        say(f"database: {url}")
        ports, key = engine_ports(), secrets.token_hex(16)
        policy, smtp = _free_port(), _free_port()
        embedded = start_server(
            url,
            folder / "embedded.log",
            args.workers,
            TOWNHALL_SMTP_LISTEN=f"127.0.0.1:{smtp}",
            TOWNHALL_MAIL_DIR=str(mail_dir),
            TOWNHALL_MTA_POLICY_LISTEN=f"127.0.0.1:{policy}",
            **QUIET,
        )
        stack.callback(stop_server, embedded)
        say(
            f"  townhall serve --workers {args.workers} (A): TOWNHALL_SMTP_LISTEN=127.0.0.1:"
            f"{smtp} TOWNHALL_MAIL_STORE=maildir TOWNHALL_MTA_POLICY_LISTEN=127.0.0.1:{policy}"
        )
        engines = stack.enter_context(
            running_engines(url, role, f"127.0.0.1:{policy}", "", ports, key)
        )
        conf = engines.folder / "dc" / "dovecot.conf"
        say(f"  postfix -c {engines.folder / 'pf'} start-fg  (SMTP 127.0.0.1:{ports['smtp']})")
        say(f"  dovecot -F -c {conf}  (LMTP {ports['lmtp']}, doveadm HTTP {ports['doveadm']})")
        dovecot = start_server(
            url,
            folder / "dovecot.log",
            args.workers,
            TOWNHALL_MAIL_STORE="dovecot",
            TOWNHALL_LMTP=f"127.0.0.1:{ports['lmtp']}",
            TOWNHALL_DOVEADM_URL=engines.doveadm_url,
            TOWNHALL_DOVEADM_KEY=key,
            **QUIET,
        )
        stack.callback(stop_server, dovecot)
        say(f"  townhall serve --workers {args.workers} (B): TOWNHALL_MAIL_STORE=dovecot")
        names = set_up(embedded.url, args.people, ADMIN_PASSWORD, extra=("benchbig",))
        say(
            f"set up: {args.people} people, {args.people} forwards of 3, a black list each "
            f"({'PostgreSQL' if args.postgres else 'SQLite'})"
        )
        if not args.counters_only:
            compare_deliveries(args, smtp, mail_dir, ports["smtp"], engines, names)

        address, select = f"benchbig@{DOMAIN}", not args.unread_new
        began = time.perf_counter()
        maildir = fill(mail_dir, address, args.mailbox_size)
        say(
            f"filled {address} with {args.mailbox_size:,} messages in "
            f"{time.perf_counter() - began:.1f} s ({maildir})"
        )
        began = time.perf_counter()
        give_to_dovecot(maildir, engines, "benchbig")
        say(f"copied it to Dovecot's home in {time.perf_counter() - began:.1f} s")
        doveadm = shutil.which("doveadm", path=SEARCH_PATH) or "doveadm"
        _run(
            [
                doveadm,
                "-c",
                str(conf),
                "mailbox",
                "status",
                "-u",
                address,
                "messages unseen uidnext",
                "INBOX",
            ]
        )
        # Dovecot did not save these messages: it takes each one's save date from its
        # file (ctime) when first asked, and caches it. Ask now, before the login,
        # as a mailbox moved to Dovecot has them from its migration.
        _run(
            [
                doveadm,
                "-c",
                str(conf),
                "search",
                "-u",
                address,
                "mailbox",
                "INBOX",
                "savedsince",
                "1",
            ]
        )
        # One IMAP login, so "new since last login" is searched for (Dovecot writes the
        # login into mail_last_login; both modes read it from there).
        with imaplib.IMAP4("127.0.0.1", engines.imap_port, timeout=30) as client:
            client.login(address, PASSWORD)
            if select:  # Dovecot moves the files from new/ to cur/, as a read mailbox has
                client.select("INBOX")
        say(
            f"  IMAP LOGIN {address} on 127.0.0.1:{engines.imap_port} (sets the last login)"
            + (", SELECT INBOX (new/ -> cur/)" if select else "")
        )
        time.sleep(2.5)  # past the embedded index's settle time, as a mailbox at rest is
        counters("embedded (maildir)      ", embedded.url, address, args.requests)
        counters("dovecot (doveadm HTTP)  ", dovecot.url, address, args.requests)
        breakdown(engines, address)


if __name__ == "__main__":
    main()
