"""``fediverse-cop serve`` as a real process answering real HTTP."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from fediverse_cop import db
from tests.conftest import BACKEND, CLI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(env: dict[str, str], port: int | None = None) -> Iterator[str]:
    """``fediverse-cop serve`` on ``port`` (a free one by default) until the block ends."""
    with serving_all([(env, port or free_port())]) as bases:
        yield bases[0]


@contextmanager
def serving_all(servers: list[tuple[dict[str, str], int]]) -> Iterator[list[str]]:
    """Several servers (environment, port), started together: their start-ups overlap."""
    processes = [
        subprocess.Popen(
            [CLI, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for env, port in servers
    ]
    bases = [f"http://127.0.0.1:{port}" for _, port in servers]
    try:
        # Generous: a server that migrates an empty database first takes ~7 s of CPU,
        # and the suite's other processes share the cores.
        deadline = time.monotonic() + 90
        for process, base in zip(processes, bases, strict=True):
            while True:
                if process.poll() is not None:
                    output = process.stdout.read() if process.stdout else ""
                    raise AssertionError(f"serve exited with {process.returncode}: {output}")
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)
            if process.stdout:
                process.stdout.close()


@pytest.fixture
def server(cop_env: dict[str, str]) -> Iterator[str]:
    env = {**cop_env, "COP_MAX_REQUEST_BODY": "4096"}
    with serving(env) as base:
        yield base


def test_healthz_answers_when_the_database_does(server: str) -> None:
    response = httpx.get(server + "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(response.headers["x-request-id"]) == 16


def test_request_id_is_kept_when_sane(server: str) -> None:
    response = httpx.get(server + "/healthz", headers={"X-Request-Id": "abcdef0123456789"})
    assert response.headers["x-request-id"] == "abcdef0123456789"
    hostile = httpx.get(server + "/healthz", headers={"X-Request-Id": "a b\tc<script>"})
    assert hostile.headers["x-request-id"] != "a b\tc<script>"


def test_errors_are_json(server: str) -> None:
    missing = httpx.get(server + "/no/such/page")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not Found"}
    wrong_method = httpx.delete(server + "/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {"error": "Method Not Allowed"}


def test_bodies_over_the_limit_are_refused(server: str) -> None:
    declared = httpx.post(server + "/healthz", content=b"x" * 5000)
    assert declared.status_code == 413
    assert declared.json() == {"error": "request body too large"}

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"y" * 1000

    streamed = httpx.post(server + "/healthz", content=chunks())
    assert streamed.status_code in (405, 413)  # the route refuses POST unless the body is read


@pytest.mark.skipif(BACKEND != "sqlite", reason="automatic migration is the SQLite default")
def test_serve_migrates_an_empty_sqlite_database(
    cop_env: dict[str, str], empty_database_url: str
) -> None:
    env = {**cop_env, "COP_DATABASE_URL": empty_database_url}
    with serving(env) as base:
        assert httpx.get(base + "/healthz").json() == {"status": "ok"}


@pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL migrations are explicit")
def test_serve_refuses_pending_migrations_on_postgres(
    cop_env: dict[str, str], empty_database_url: str
) -> None:
    env = {**cop_env, "COP_DATABASE_URL": empty_database_url}
    completed = subprocess.run(
        [CLI, "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    migrations = len(list(Path(db.__file__).parent.joinpath("migrations").glob("[0-9]*.py")))
    assert completed.stderr.strip() == (
        f"error: the database needs {migrations} migration(s): run `fediverse-cop migrate` first"
    )
