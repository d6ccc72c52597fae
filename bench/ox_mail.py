"""Embedded mail: deliveries per second through the SMTP listener, and `/mail/{uid}`
latency for a mailbox of 10,000 messages.

Starts `townhall serve` (SQLite in a temporary folder unless `--database-url`, one
worker unless told) with the embedded receiver on a free port, then:

1. deliveries: `--people` people, forwards (`team-<n>@` to three people each) and a
   black list per person, made through the OX API; `--connections` smtplib connections
   in threads, each sending `--messages` messages, cycling through a direct recipient,
   an alias (fan-out 3) and a black-listed sender to an alias (one of three refuses it).
   Prints messages accepted per second and mailbox deliveries per second.
2. counters: fills one mailbox with `--mailbox-size` messages straight through the
   Maildir store (the files the listener would write), lets the directories settle,
   then times `GET /oxaas/v1/mail/{uid}` from one client: the first call (the index is
   built), then `--requests` calls (p50/p99/max).

    .venv/bin/python bench/ox_mail.py
    .venv/bin/python bench/ox_mail.py --connections 8 --messages 200 --mailbox-size 10000

Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import requests

ADMIN_PASSWORD = "bench-admin-pw"
DOMAIN = "example.org"
READER = ("bench-reader", "bench-reader-pw")
PASSWORD = "pw-1234567"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    database_url: str, mail_dir: Path, workers: int, log: Path
) -> tuple[subprocess.Popen[bytes], str, int]:
    port, smtp = _free_port(), _free_port()
    env = {
        **os.environ,
        "TOWNHALL_DATABASE_URL": database_url,
        "TOWNHALL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "TOWNHALL_DOMAIN": DOMAIN,
        "TOWNHALL_LOG_LEVEL": "warning",
        "TOWNHALL_SMTP_LISTEN": f"127.0.0.1:{smtp}",
        "TOWNHALL_MAIL_DIR": str(mail_dir),
        "TOWNHALL_OX_MAIL_CREDENTIAL": ":".join(READER),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "townhall", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(f"{url}/readyz", timeout=1).ok:
                return process, url, smtp
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server did not start:\n{log.read_text()}")


def set_up(
    url: str, people: int, admin_password: str = ADMIN_PASSWORD, extra: tuple[str, ...] = ()
) -> list[str]:
    """People (and `extra` ones with no forward or list), forwards `team-<n>` (three
    people each) and a black list each; the people's names, without `extra`."""
    admin = requests.Session()
    admin.auth = ("admin", admin_password)
    names = [f"bench{n}" for n in range(people)]
    for name in [*names, *extra]:
        made = admin.post(
            f"{url}/plugins/restapi/v1/users",
            json={"username": name, "password": PASSWORD, "email": f"{name}@{DOMAIN}"},
        )
        assert made.status_code in (201, 409), made.text
    ids = admin.get(f"{url}/oxaas/v1/admin/contexts/1/users").json()
    for n, name in enumerate(names):
        uid = ids[name]["user-id"]
        listed = admin.put(
            f"{url}/oxaas/v1/admin/contexts/1/users/{uid}/blacklist/spam{n}@bad.test"
        )
        assert listed.ok, listed.text
        team = [f"{names[(n + k) % people]}@{DOMAIN}" for k in range(3)]
        forwarded = admin.put(f"{url}/oxaas/v1/admin/forwards/1/team-{n}@{DOMAIN}", json=team)
        assert forwarded.ok, forwarded.text
    return names


def _message(n: int) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"bench message {n}"
    message["From"] = "sender@outside.test"
    message.set_content("x" * 2000)
    return message


def send_mix(port: int, names: list[str], count: int, offset: int) -> tuple[int, int]:
    """Send `count` messages on one connection, a third each to a person, to a forward
    of three and to a forward one of whose three black-lists the sender; the messages
    accepted and the mailbox deliveries they should make."""
    accepted = deliveries = 0
    people = len(names)
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        for n in range(count):
            pick = (offset + n) % people
            kind = n % 3
            if kind == 0:
                sender, rcpt, fan = "friend@good.test", f"{names[pick]}@{DOMAIN}", 1
            elif kind == 1:
                sender, rcpt, fan = "friend@good.test", f"team-{pick}@{DOMAIN}", 3
            else:  # team-<pick>'s first member black-lists spam<pick>@: two of three take it
                sender, rcpt, fan = f"spam{pick}@bad.test", f"team-{pick}@{DOMAIN}", 2
            smtp.send_message(_message(n), from_addr=sender, to_addrs=[rcpt])
            accepted += 1
            deliveries += fan
    return accepted, deliveries


def deliveries(port: int, names: list[str], connections: int, messages: int) -> None:
    tally = [0, 0]
    lock = threading.Lock()

    def run(i: int) -> None:
        own = send_mix(port, names, messages, i * 7)
        with lock:
            tally[0] += own[0]
            tally[1] += own[1]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - started
    print(
        f"deliveries: {connections} connections x {messages} messages in {took:.1f} s: "
        f"{tally[0] / took:,.0f} messages/s accepted, {tally[1] / took:,.0f} mailbox "
        f"deliveries/s (direct, alias fan-out 3, alias with a black-listing member)"
    )


def fill(root: Path, address: str, size: int) -> Path:
    """`size` messages written the way the embedded store writes them (tmp/, then
    new/, Dovecot's file names); the Maildir."""
    from townhall.infrastructure.mailstore.maildir import MaildirStore

    store = MaildirStore(root)
    for n in range(size):
        store._deliver(
            address, f"From: s{n}@outside.test\nSubject: filler {n}\n\n{'y' * 500}\n".encode()
        )
    return store.folder(address)


def counters(url: str, mail_dir: Path, address: str, size: int, requests_: int) -> None:
    started = time.perf_counter()
    fill(mail_dir, address, size)
    print(f"filled {address} with {size:,} messages in {time.perf_counter() - started:.1f} s")
    time.sleep(2.5)  # past the index's settle time, as a mailbox at rest is
    http = requests.Session()
    http.auth = READER
    target = f"{url}/oxaas/v1/mail/{address}"
    began = time.perf_counter()
    first = http.get(target, timeout=60)
    cold = (time.perf_counter() - began) * 1000
    assert first.ok, first.text
    took: list[float] = []
    for _ in range(requests_):
        began = time.perf_counter()
        answer = http.get(target, timeout=60)
        took.append((time.perf_counter() - began) * 1000)
        assert answer.ok
    took.sort()
    p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
    body = first.json()
    print(
        f"/mail/{{uid}} on {body['mailQuota']['messages']:,} messages, one client, "
        f"{requests_} requests: first {cold:.1f} ms (index built), "
        f"p50 {statistics.median(took):.1f} ms, p99 {p99:.1f} ms, max {took[-1]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--messages", type=int, default=150)
    parser.add_argument("--mailbox-size", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="townhall-oxmail-"))
    database = args.database_url or f"sqlite:///{folder / 'townhall.db'}"
    process, url, smtp = start(database, folder / "mail", args.workers, folder / "server.log")
    try:
        names = set_up(url, args.people)
        deliveries(smtp, names, args.connections, args.messages)
        counters(url, folder / "mail", f"{names[0]}@{DOMAIN}", args.mailbox_size, args.requests)
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
