"""Streaming benchmark: 1,000 WebSocket clients on one web process.

Run by hand: ``.venv/bin/python bench/streaming.py [--clients 1000] [--posts 20]
[--streams public,user] [--sqlite]``.

Seeds a fresh database (PostgreSQL at COP_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres, or SQLite with ``--sqlite``) with
one poster and ``--clients`` users, each with an access token, and starts
``fediverse-cop serve --no-workers`` (one process). For each stream:

- ``public``: every client watches the public stream (one rendering per post
  shared by all of them);
- ``user``: every client follows the poster and watches their ``user`` stream
  (each receiver is checked against their home timeline);

it opens one WebSocket per client, measures the server's resident memory before
and after (memory per connection), then posts ``--posts`` statuses one after
the other and times, for each, how long after the ``POST`` was sent the event
reached each client and all of them. It prints p50/p99 of the per-client arrival
times and of the time to reach every client. Clients run in this process, so
their own work is part of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POSTGRES = os.environ.get("COP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CLI = str(Path(sys.executable).with_name("fediverse-cop"))
DOMAIN = "bench.example"
STATUS_ID = re.compile(r'\\"id\\":\\"(\d+)\\"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def wait_for(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


async def pg(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES.replace("postgres://", "postgresql://", 1))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def seed(env: dict[str, str], clients: int) -> tuple[str, list[str]]:
    """The poster's token and one token per client; every client follows the poster."""
    from activitypub.keys import generate_rsa_keypair
    from fediverse_cop import db
    from fediverse_cop.ids import new_id
    from fediverse_cop.models import Account, Follow, FollowState, OAuthToken
    from fediverse_cop.services import instance, oauth
    from fediverse_cop.services import scopes as scope_rules
    from fediverse_cop.services.context import ServerContext
    from fediverse_cop.settings import load_settings

    settings = load_settings(environ=env)
    ctx = ServerContext(settings)
    async with db.database(settings):
        await db.migrate()
        await instance.ensure_instance(ctx)
        private_pem, public_pem = generate_rsa_keypair()
        accounts = [
            Account(
                id=new_id(),
                username=name,
                acct_key=name,
                local=True,
                public_key_pem=public_pem,
                private_key_pem=private_pem,
                display_name=name,
                **ctx.uris.actor_collections(name, community=False),
            )
            for name in ["poster", *(f"reader{i}" for i in range(clients))]
        ]
        await Account.bulk_create(accounts, batch_size=500)
        poster, readers = accounts[0], accounts[1:]
        await Follow.bulk_create(
            [
                Follow(
                    id=new_id(),
                    account_id=r.id,
                    target_id=poster.id,
                    state=FollowState.ACCEPTED,
                    uri=f"{r.uri}#follows/{poster.id}",
                )
                for r in readers
            ],
            batch_size=1000,
        )
        app = await oauth.register_app(
            "bench", [oauth.OOB_REDIRECT], scope_rules.parse("read write")
        )
        secrets_by_account = {a.id: oauth.new_secret() for a in accounts}
        await OAuthToken.bulk_create(
            [
                OAuthToken(
                    id=new_id(),
                    digest=oauth.digest(secret),
                    app_id=app.app.id,
                    account_id=account_id,
                    scopes="read write",
                )
                for account_id, secret in secrets_by_account.items()
            ],
            batch_size=1000,
        )
        return secrets_by_account[poster.id], [secrets_by_account[r.id] for r in readers]


class Client:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.task: asyncio.Task[None] | None = None


async def run_client(url: str, token: str, client: Client, ready: asyncio.Event) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        ready.set()
        async for message in ws:
            found = STATUS_ID.search(str(message))
            if found:
                client.arrivals.setdefault(found.group(1), time.perf_counter())


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def phase(
    base: str, stream: str, poster: str, tokens: list[str], posts: int, pid: int
) -> dict[str, Any]:
    import httpx

    url = base.replace("http://", "ws://") + f"/api/v1/streaming?stream={stream}"
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        headers = {"Authorization": f"Bearer {poster}"}

        async def post(text: str) -> tuple[str, float, float]:
            sent = time.perf_counter()
            response = await http.post("/api/v1/statuses", headers=headers, json={"status": text})
            response.raise_for_status()
            return response.json()["id"], sent, time.perf_counter() - sent

        await post("warm-up before connecting")
        before = rss_kib(pid)
        clients = [Client() for _ in tokens]
        gate = asyncio.Semaphore(50)

        async def start(client: Client, token: str) -> None:
            async with gate:
                ready = asyncio.Event()
                client.task = asyncio.create_task(run_client(url, token, client, ready))
                await asyncio.wait_for(ready.wait(), 30)

        began = time.perf_counter()
        await asyncio.gather(*(start(c, t) for c, t in zip(clients, tokens, strict=True)))
        connect_seconds = time.perf_counter() - began

        async def reached_all(status_id: str, within: float = 60) -> None:
            deadline = time.perf_counter() + within
            while any(status_id not in c.arrivals for c in clients):
                if time.perf_counter() > deadline:
                    missing = sum(status_id not in c.arrivals for c in clients)
                    raise SystemExit(f"{missing} clients never got {status_id}")
                await asyncio.sleep(0.002)

        # Subscriptions follow the handshake: a post every client sees is the sign that
        # all are subscribed (one more if a subscription came just too late).
        for attempt in range(3):
            warm, _, _ = await post(f"are you all there? ({attempt})")
            try:
                await reached_all(warm, within=30)
                break
            except SystemExit:
                if attempt == 2:
                    raise
        after = rss_kib(pid)
        per_client: list[float] = []
        to_all: list[float] = []
        post_times: list[float] = []
        for index in range(posts):
            status_id, sent, took = await post(f"post {index} to {len(clients)} clients")
            await reached_all(status_id)
            arrivals = [c.arrivals[status_id] - sent for c in clients]
            per_client += arrivals
            to_all.append(max(arrivals))
            post_times.append(took)
        for c in clients:
            if c.task is not None:
                c.task.cancel()
        await asyncio.gather(*(c.task for c in clients if c.task), return_exceptions=True)
    return {
        "stream": stream,
        "clients": len(clients),
        "connect_s": connect_seconds,
        "rss_before_mib": before / 1024,
        "rss_after_mib": after / 1024,
        "kib_per_connection": (after - before) / len(clients),
        "post_p50_ms": 1000 * statistics.median(post_times),
        "arrival_p50_ms": 1000 * pct(per_client, 0.50),
        "arrival_p99_ms": 1000 * pct(per_client, 0.99),
        "all_p50_ms": 1000 * pct(to_all, 0.50),
        "all_p99_ms": 1000 * pct(to_all, 0.99),
        "all_max_ms": 1000 * max(to_all),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--streams", default="public,user")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    # A terminated run still stops its server and drops its database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    scratch = Path(tempfile.mkdtemp(prefix="cop-bench-streaming-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COP_")}
    env.update(
        {"COP_DATA_DIR": str(scratch / "data"), "COP_DOMAIN": DOMAIN, "COP_LOG_LEVEL": "warning"}
    )
    name = f"cop_bench_streaming_{secrets.token_hex(4)}"
    if args.sqlite:
        env["COP_DATABASE_URL"] = f"sqlite://{scratch / 'bench.sqlite3'}"
    else:
        env["COP_DATABASE_URL"] = f"{POSTGRES.rsplit('/', 1)[0]}/{name}"
        asyncio.run(pg(f'CREATE DATABASE "{name}"'))
    process: subprocess.Popen[bytes] | None = None
    try:
        poster, tokens = asyncio.run(seed(env, args.clients))
        port = free_port()
        process = subprocess.Popen(
            [CLI, "serve", "--no-workers", "--host", "127.0.0.1", "--port", str(port)], env=env
        )
        wait_for(port, process)
        base = f"http://127.0.0.1:{port}"
        backend = "SQLite" if args.sqlite else "PostgreSQL"
        print(f"{backend}, one web process, {args.clients} WebSocket clients, {args.posts} posts")
        for stream in args.streams.split(","):
            result = asyncio.run(phase(base, stream, poster, tokens, args.posts, process.pid))
            print(
                f"{result['stream']:>7}: connected in {result['connect_s']:.1f} s; "
                f"RSS {result['rss_before_mib']:.0f} -> {result['rss_after_mib']:.0f} MiB "
                f"({result['kib_per_connection']:.1f} KiB per connection); "
                f"POST p50 {result['post_p50_ms']:.0f} ms"
            )
            print(
                f"         arrival per client p50 {result['arrival_p50_ms']:.0f} ms, "
                f"p99 {result['arrival_p99_ms']:.0f} ms; at all {result['clients']} clients "
                f"p50 {result['all_p50_ms']:.0f} ms, p99 {result['all_p99_ms']:.0f} ms, "
                f"max {result['all_max_ms']:.0f} ms"
            )
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if not args.sqlite:
            asyncio.run(pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
