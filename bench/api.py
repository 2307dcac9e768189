"""Client API benchmark: home and public timelines under load, next to a bare floor.

Run by hand: ``.venv/bin/python bench/api.py [--users 1000] [--statuses 100000]
[--concurrency 20] [--seconds 10] [--limit 20] [--workers 1]``.

Seeds a fresh PostgreSQL database (COP_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres) with users who follow each other
and statuses with mentions, hashtags, replies, boosts and favourites; starts
``fediverse-cop serve --no-workers`` on it; and, in the same run, a bare
Starlette endpoint (same uvicorn options) that returns the very bytes the real
endpoint returned — the floor. For each timeline it prints requests per second,
p50 and p99 latency at the given concurrency for both, and the throughput ratio.
Target (issue #7): p99 under 50 ms and at least 30% of the floor's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POSTGRES = os.environ.get("COP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CLI = str(Path(sys.executable).with_name("fediverse-cop"))
DOMAIN = "bench.example"

FLOOR_APP = """
import os
from pathlib import Path
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODIES = {name: Path(os.environ["BENCH_DIR"], name).read_bytes() for name in ("home", "public")}

def endpoint(name):
    async def handler(request):
        return Response(BODIES[name], media_type="application/json")
    return handler

app = Starlette(routes=[
    Route("/api/v1/timelines/home", endpoint("home")),
    Route("/api/v1/timelines/public", endpoint("public")),
])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


async def pg(sql: str, database: str | None = None) -> None:
    import asyncpg

    url = POSTGRES.replace("postgres://", "postgresql://", 1)
    if database is not None:
        url = f"{url.rsplit('/', 1)[0]}/{database}"
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def seed(env: dict[str, str], users: int, statuses: int) -> str:
    """Fill the database; return an access token of the first user."""
    from activitypub.keys import generate_rsa_keypair
    from fediverse_cop import db
    from fediverse_cop.ids import new_id
    from fediverse_cop.models import (
        Account,
        Favourite,
        Follow,
        FollowState,
        Status,
        StatusMention,
        StatusTag,
        Tag,
        Visibility,
    )
    from fediverse_cop.services import instance
    from fediverse_cop.services.context import ServerContext
    from fediverse_cop.settings import load_settings

    settings = load_settings(environ=env)
    ctx = ServerContext(settings)
    rng = random.Random(7)
    async with db.database(settings):
        await db.migrate()
        await instance.ensure_instance(ctx)
        private_pem, public_pem = generate_rsa_keypair()
        accounts = []
        for i in range(users):
            name = f"user{i}"
            accounts.append(
                Account(
                    id=new_id(),
                    username=name,
                    acct_key=name,
                    local=True,
                    public_key_pem=public_pem,
                    private_key_pem=private_pem,
                    display_name=f"User {i}",
                    **ctx.uris.actor_collections(name, community=False),
                )
            )
        await Account.bulk_create(accounts, batch_size=500)
        follows = [
            Follow(
                id=new_id(),
                account_id=a.id,
                target_id=t.id,
                state=FollowState.ACCEPTED,
                uri=f"{a.uri}#follows/{t.id}",
            )
            for a in accounts
            for t in rng.sample(accounts, 50)
            if t is not a
        ]
        await Follow.bulk_create(follows, batch_size=1000, ignore_conflicts=True)
        tags = [Tag(id=new_id(), name=f"topic{i}") for i in range(50)]
        await Tag.bulk_create(tags)
        start = datetime.now(UTC) - timedelta(days=30)
        rows: list[Status] = []
        visibilities = [Visibility.PUBLIC] * 7 + [
            Visibility.UNLISTED,
            Visibility.PRIVATE,
            Visibility.DIRECT,
        ]
        for i in range(statuses):
            author = rng.choice(accounts)
            sid = new_id()
            parent = rng.choice(rows) if rows and i % 5 == 0 else None
            rows.append(
                Status(
                    id=sid,
                    uri=f"{ctx.settings.base_url}/objects/{sid}",
                    account_id=author.id,
                    local=True,
                    content=f"<p>benchmark post {i} #topic{i % 50}</p>",
                    text=f"benchmark post {i} #topic{i % 50}",
                    visibility=rng.choice(visibilities),
                    in_reply_to_id=parent.id if parent else None,
                    in_reply_to_uri=parent.uri if parent else None,
                    published_at=start + timedelta(seconds=i * 25),
                )
            )
        await Status.bulk_create(rows, batch_size=1000)
        await StatusTag.bulk_create(
            [
                StatusTag(id=new_id(), status_id=s.id, tag_id=tags[i % 50].id)
                for i, s in enumerate(rows)
            ],
            batch_size=1000,
        )
        await StatusMention.bulk_create(
            [
                StatusMention(id=new_id(), status_id=s.id, account_id=rng.choice(accounts).id)
                for s in rows[::3]
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        await Favourite.bulk_create(
            [
                Favourite(id=new_id(), account_id=rng.choice(accounts).id, status_id=s.id)
                for s in rows[::2]
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        boosts = []
        for i, original in enumerate(rows[::10]):
            bid = new_id()
            booster = rng.choice(accounts)
            if original.visibility in (Visibility.PUBLIC, Visibility.UNLISTED):
                boosts.append(
                    Status(
                        id=bid,
                        uri=f"{booster.uri}/boosts/{bid}",
                        account_id=booster.id,
                        local=True,
                        reblog_of_id=original.id,
                        visibility=original.visibility,
                        published_at=original.published_at + timedelta(seconds=i),
                    )
                )
        await Status.bulk_create(boosts, batch_size=1000)
    return await new_token(env)


async def new_token(env: dict[str, str]) -> str:
    """An access token (scope read) of the first user of a seeded database."""
    from fediverse_cop import db
    from fediverse_cop.models import Account
    from fediverse_cop.services import oauth
    from fediverse_cop.services import scopes as scope_rules
    from fediverse_cop.settings import load_settings

    async with db.database(load_settings(environ=env)):
        app = await oauth.register_app("bench", [oauth.OOB_REDIRECT], scope_rules.parse("read"))
        first = await Account.get(acct_key="user0")
        issued = await oauth.issue_token(app.app, first, scope_rules.parse("read"))
        return issued.access_token


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    """One keep-alive GET: its status (the body is read and dropped)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise SystemExit("the benchmark reads Content-Length bodies only")
    await reader.readexactly(length)
    return status


async def load(url: str, token: str, concurrency: int, seconds: float) -> dict[str, float]:
    """``concurrency`` clients, each on its own keep-alive connection, asking for ``url``
    again as soon as an answer is read, for ``seconds``.

    The client is a few lines of asyncio on uvloop, not httpx: a general-purpose client
    takes about 3 ms of CPU per request, so with httpx one load process could not ask
    for more than ~300 requests per second and the floor measured the client.
    """
    parts = urlsplit(url)
    request = (
        f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while time.perf_counter() < stop:
                began = time.perf_counter()
                status = await _request(reader, writer, request)
                latencies.append(time.perf_counter() - began)
                if status != 200:
                    errors += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "errors": errors,
    }


def measure(run: Coroutine[Any, Any, dict[str, float]]) -> dict[str, float]:
    """Run a load on uvloop, as the servers run."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(run)


def serve(args: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, cwd=cwd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--statuses", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument(
        "--workers", type=int, default=1, help="web processes, for both servers (serve --workers)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the seeded database and print its name"
    )
    parser.add_argument("--database", help="measure a database seeded and kept by --keep")
    args = parser.parse_args()

    name = args.database or f"cop_bench_api_{secrets.token_hex(4)}"
    base_url = POSTGRES.rsplit("/", 1)[0]
    scratch = Path(tempfile.mkdtemp(prefix="cop-bench-api-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COP_")}
    env.update(
        {
            "COP_DATABASE_URL": f"{base_url}/{name}",
            "COP_DATA_DIR": str(scratch / "data"),
            "COP_DOMAIN": DOMAIN,
            "COP_LOG_LEVEL": "warning",
            # Measure the endpoints, not the rate limiter.
            "COP_API_RATE_LIMIT": "0",
        }
    )
    processes: list[subprocess.Popen[bytes]] = []
    if args.database:
        token = asyncio.run(new_token(env))
    else:
        asyncio.run(pg(f'CREATE DATABASE "{name}"'))
    try:
        if not args.database:
            began = time.perf_counter()
            token = asyncio.run(seed(env, args.users, args.statuses))
            # As autovacuum would soon after such a load: the planner needs statistics.
            asyncio.run(pg("VACUUM ANALYZE", database=name))
            print(
                f"seeded {args.users} users and {args.statuses} statuses "
                f"in {time.perf_counter() - began:.0f} s"
            )
        port = free_port()
        command = [CLI, "serve", "--no-workers", "--workers", str(args.workers)]
        processes.append(serve([*command, "--host", "127.0.0.1", "--port", str(port)], env))
        wait_for(port, processes[-1])
        real = f"http://127.0.0.1:{port}"
        import httpx

        paths = {
            "home": f"/api/v1/timelines/home?limit={args.limit}",
            "public": f"/api/v1/timelines/public?limit={args.limit}",
        }
        for key, path in paths.items():
            first = httpx.get(real + path, headers={"Authorization": f"Bearer {token}"})
            if first.status_code != 200:
                raise SystemExit(f"{path} answered {first.status_code}: {first.text[:200]}")
            (scratch / key).write_bytes(first.content)
        (scratch / "bench_floor.py").write_text(FLOOR_APP)
        floor_port = free_port()
        processes.append(
            serve(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench_floor:app",
                    "--port",
                    str(floor_port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                    "--workers",
                    str(args.workers),
                    "--http",
                    "httptools",
                    "--loop",
                    "uvloop",
                ],
                {**env, "BENCH_DIR": str(scratch)},
                cwd=scratch,
            )
        )
        wait_for(floor_port, processes[-1])
        floor = f"http://127.0.0.1:{floor_port}"
        print(
            f"{'timeline':<8} {'server':<8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
        )
        for key, path in paths.items():
            results: dict[str, Any] = {}
            for label, host in (("floor", floor), ("ours", real)):
                measure(load(host + path, token, args.concurrency, 2))  # warm up
                results[label] = measure(load(host + path, token, args.concurrency, args.seconds))
                r = results[label]
                print(
                    f"{key:<8} {label:<8} {r['rps']:>8.0f} {r['p50']:>8.1f} {r['p99']:>8.1f}"
                    f" {r['errors']:>7}"
                )
            ratio = results["ours"]["rps"] / results["floor"]["rps"]
            print(f"{key:<8} ratio    {ratio:>8.2f}  (target >= 0.30; p99 target < 50 ms)")
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)
        if args.keep or args.database:
            print(f"database kept: {name} (measure it again with --database {name})")
        else:
            asyncio.run(pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
