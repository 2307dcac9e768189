"""Fan-out benchmark: one activity to N distinct inboxes, through the real delivery engine.

Run by hand: ``.venv/bin/python bench/fanout.py [--sizes 1000 10000] [--concurrency 32]``.

Several loopback sink processes (uvicorn, answering 202) receive the deliveries.
For each N, three runs, each in its own process so that peak memory is its own:

- floor: a bare loop that signs and POSTs the same requests through the same
  client with the same concurrency, with no database;
- sqlite and postgres: ``outbox.enqueue`` then ``DeliveryWorker.run_once()`` until
  the queue is empty (fan-out expansion, claiming, sending, recording).

Printed: deliveries per second, CPU seconds per delivery (this process only; the
sinks run elsewhere), peak RSS, and the ratio to the floor. PostgreSQL is taken
from COP_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SINK_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b""})
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_sinks(count: int, scratch: Path) -> tuple[list[int], list[subprocess.Popen[bytes]]]:
    (scratch / "bench_sink.py").write_text(SINK_APP)
    ports, processes = [], []
    for _ in range(count):
        port = free_port()
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench_sink:app",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                    "--http",
                    "httptools",
                    "--loop",
                    "uvloop",
                ],
                cwd=scratch,
            )
        )
        ports.append(port)
    deadline = time.monotonic() + 20
    for port in ports:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    return ports, processes


def inbox_urls(n: int, ports: list[int]) -> list[str]:
    return [f"http://127.0.0.1:{ports[i % len(ports)]}/users/f{i}/inbox" for i in range(n)]


ACTIVITY = {
    "@context": "https://www.w3.org/ns/activitystreams",
    "type": "Create",
    "to": ["https://www.w3.org/ns/activitystreams#Public"],
    "object": {"type": "Note", "content": "<p>" + "benchmark " * 40 + "</p>"},
}


# -- children -----------------------------------------------------------------------------


async def run_floor(n: int, ports: list[int], concurrency: int) -> dict[str, Any]:
    import orjson

    from activitypub.http import SafeHttpClient
    from activitypub.keys import generate_rsa_keypair, load_private_key_pem
    from activitypub.signatures import HttpSignatureAuth, SignaturePreferences

    private_pem, _ = generate_rsa_keypair()
    key = load_private_key_pem(private_pem)
    preferences = SignaturePreferences()
    body = orjson.dumps(ACTIVITY)
    async with SafeHttpClient(user_agent="bench", allowed_networks=["127.0.0.0/8"]) as http:
        semaphore = asyncio.Semaphore(concurrency)

        async def one(url: str) -> int:
            async with semaphore:
                auth = HttpSignatureAuth(
                    "https://bench.test/users/a#main-key", key, preferences=preferences
                )
                return (await http.post(url, content=body, auth=auth)).status

        started, cpu = time.perf_counter(), time.process_time()
        statuses = await asyncio.gather(*(one(url) for url in inbox_urls(n, ports)))
        return _result(n, started, cpu, ok=sum(1 for s in statuses if s == 202))


async def run_engine(backend: str, n: int, ports: list[int], concurrency: int) -> dict[str, Any]:
    import asyncpg

    from activitypub.http import SafeHttpClient
    from fediverse_cop import db
    from fediverse_cop.models import (
        Account,
        ActorType,
        Delivery,
        DeliveryState,
        Follow,
        FollowState,
        acct_key,
    )
    from fediverse_cop.services import accounts
    from fediverse_cop.services.context import ServerContext
    from fediverse_cop.settings import load_settings
    from outbox.enqueue import enqueue
    from outbox.worker import DeliveryWorker, WorkerConfig

    scratch = Path(tempfile.mkdtemp(prefix="cop-bench-"))
    admin_url = os.environ.get(
        "COP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"cop_bench_{secrets.token_hex(4)}"
    if backend == "sqlite":
        url = f"sqlite://{scratch / 'bench.sqlite3'}"
    else:
        connection = await asyncpg.connect(admin_url)
        await connection.execute(f'CREATE DATABASE "{name}"')
        await connection.close()
        url = admin_url.rsplit("/", 1)[0] + "/" + name
    settings = load_settings(
        environ={"COP_DATABASE_URL": url, "COP_DATA_DIR": str(scratch), "COP_DOMAIN": "bench.test"}
    )
    try:
        async with db.database(settings):
            await db.migrate()
            ctx = ServerContext(settings)
            sender = await accounts.create_user(
                ctx, "alice", email="a@bench.test", password="long enough"
            )
            followers = [
                Account(
                    username=f"f{i}",
                    domain=f"127.0.0.1:{ports[i % len(ports)]}",
                    acct_key=acct_key(f"f{i}", f"127.0.0.1:{ports[i % len(ports)]}"),
                    actor_type=ActorType.PERSON,
                    uri=inbox.removesuffix("/inbox"),
                    inbox_uri=inbox,
                )
                for i, inbox in enumerate(inbox_urls(n, ports))
            ]
            await Account.bulk_create(followers, batch_size=1000)
            ids = await Account.filter(local=False).values_list("id", flat=True)
            await Follow.bulk_create(
                [
                    Follow(account_id=i, target_id=sender.id, state=FollowState.ACCEPTED)
                    for i in ids
                ],
                batch_size=1000,
            )
            async with SafeHttpClient(user_agent="bench", allowed_networks=["127.0.0.0/8"]) as http:
                config = WorkerConfig(
                    concurrency=concurrency, per_host=concurrency, batch=concurrency * 8
                )
                worker = DeliveryWorker(http, local_domain=settings.domain, config=config)
                started, cpu = time.perf_counter(), time.process_time()
                await enqueue(
                    dict(ACTIVITY, id=f"{sender.uri}/statuses/1/activity"),
                    sender,
                    [sender.followers_uri or ""],
                )
                while not (await worker.run_once()).idle:
                    pass
                ok = await Delivery.filter(state=DeliveryState.DELIVERED).count()
                return _result(n, started, cpu, ok=ok)
    finally:
        if backend == "postgres":
            connection = await asyncpg.connect(admin_url)
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.close()


def _result(n: int, started: float, cpu: float, *, ok: int) -> dict[str, Any]:
    wall = time.perf_counter() - started
    return {
        "n": n,
        "ok": ok,
        "seconds": wall,
        "per_second": n / wall,
        "cpu_per_delivery_ms": (time.process_time() - cpu) / n * 1000,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def child(args: argparse.Namespace) -> None:
    import uvloop

    ports = [int(p) for p in args.ports.split(",")]
    if args.child == "floor":
        result = uvloop.run(run_floor(args.n, ports, args.concurrency))
    else:
        result = uvloop.run(run_engine(args.child, args.n, ports, args.concurrency))
    print(json.dumps(result))


# -- orchestration ---------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sinks", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ports", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as scratch:
        ports, sinks = start_sinks(args.sinks, Path(scratch))
        try:
            print(f"one activity to N inboxes on {args.sinks} loopback sinks")
            print(f"concurrency {args.concurrency}")
            print(
                f"{'run':<10}{'N':>7}{'ok':>7}{'deliv/s':>10}{'cpu ms/deliv':>14}"
                f"{'peak MiB':>10}{'vs floor':>10}"
            )
            for n in args.sizes:
                floor: dict[str, Any] | None = None
                for run in ["floor", *args.backends]:
                    completed = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--child",
                            run,
                            "--n",
                            str(n),
                            "--ports",
                            ",".join(map(str, ports)),
                            "--concurrency",
                            str(args.concurrency),
                        ],
                        capture_output=True,
                        text=True,
                        check=True,
                        cwd=ROOT,
                    )
                    result = json.loads(completed.stdout.strip().splitlines()[-1])
                    if run == "floor":
                        floor = result
                    ratio = result["per_second"] / floor["per_second"] if floor else 1.0
                    print(
                        f"{run:<10}{n:>7}{result['ok']:>7}{result['per_second']:>10.0f}"
                        f"{result['cpu_per_delivery_ms']:>14.2f}{result['peak_rss_mib']:>10.0f}{ratio:>10.2f}"
                    )
        finally:
            for sink in sinks:
                sink.terminate()
                sink.wait()


if __name__ == "__main__":
    main()
