"""The ``fediverse-cop`` command: the operator's tool (after tootctl and ``gotosocial admin``).

Exit status: 0 on success, 1 with a one-line message on a user error, 2 on a usage error.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Annotated, Any

import typer

from fediverse_cop import __version__, db
from fediverse_cop.cli import (
    announcements,
    communities,
    domains,
    federation,
    invites,
    queue,
    users,
)
from fediverse_cop.cli.common import (
    emit_one,
    fail,
    run,
    say,
    server_context,
    settings,
    state,
)
from fediverse_cop.cli.users import JsonOption, read_password
from fediverse_cop.models import InstanceRole
from fediverse_cop.services import accounts, instance
from fediverse_cop.services.errors import NotFound
from fediverse_cop.settings import RegistrationMode, parse_domain_setting

app = typer.Typer(
    name="fediverse-cop",
    help="Run and administer a fediverse-cop instance.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(users.app, name="user")
app.add_typer(communities.app, name="community")
app.add_typer(domains.app, name="domain")
app.add_typer(invites.app, name="invite")
app.add_typer(queue.app, name="queue")
app.add_typer(federation.app, name="federation")
app.add_typer(announcements.app, name="announcement")


def _version(value: bool) -> None:
    if value:
        say(f"fediverse-cop {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    config: Annotated[
        str | None,
        typer.Option(
            "--config", "-c", help="TOML settings file (also COP_CONFIG).", metavar="PATH"
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    state.config = config
    state.settings = None
    if config:
        # Worker processes started by uvicorn read their settings from the environment.
        os.environ["COP_CONFIG"] = config


@app.command("migrate")
def migrate() -> None:
    """Apply pending database migrations."""
    applied = run(db.migrate, migrate=False)
    if applied:
        say(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        say("the database is up to date")


@app.command("init")
def init(
    domain: Annotated[
        str | None, typer.Option(help="The instance's domain (default: the domain setting).")
    ] = None,
    admin: Annotated[str | None, typer.Option(help="Handle of the first admin.")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail of the first admin.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the admin password from stdin.")
    ] = False,
) -> None:
    """Prepare the database and the instance actor, and create the first admin. Safe to repeat."""
    if domain is not None:
        try:
            chosen = parse_domain_setting(domain)
        except ValueError as exc:
            fail(f"invalid domain: {exc}")
        state.settings = dataclasses.replace(settings(), domain=chosen)
    if admin is not None and email is None:
        fail("--admin needs --email")
    ctx = server_context()

    async def body() -> tuple[bool, str | None, str | None]:
        _, created = await instance.ensure_instance(ctx)
        if admin is None:
            return created, None, None
        try:
            existing = await accounts.get_local_user(admin)
        except NotFound:
            existing = None
        if existing is not None:
            return created, existing.username, None
        password, generated = read_password(password_stdin, False)
        account = await accounts.create_user(
            ctx, admin, email=email or "", password=password, role=InstanceRole.OWNER
        )
        return created, account.username, password if generated else None

    created, admin_name, password = run(body)
    current = settings()
    say(
        f"initialized {current.domain}"
        if created
        else f"{current.domain} was already initialized; nothing to do"
    )
    if admin_name and password:
        say(f"created owner {admin_name}; password: {password}")
    elif admin_name:
        say(f"owner {admin_name} exists; left unchanged")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Web processes.", min=1, max=64)] = 1,
    no_workers: Annotated[
        bool,
        typer.Option("--no-workers", help="Do not run background workers in the web processes."),
    ] = False,
) -> None:
    """Serve the instance over HTTP (behind a TLS-terminating proxy in production)."""
    import uvicorn

    from fediverse_cop.logs import configure_logging

    current = settings()
    ctx = server_context()

    async def prepare() -> bool:
        await instance.ensure_instance(ctx)
        return bool(await accounts.list_users())

    has_users = run(prepare)
    if no_workers:
        # The web processes uvicorn starts read their settings from the environment.
        os.environ["COP_IN_PROCESS_WORKERS"] = "false"
    configure_logging(current.log_level)
    say(f"fediverse-cop {__version__} serving {current.base_url} on http://{host}:{port}")
    if not has_users:
        say("no users yet; create the first admin and a community with:")
        say("  .venv/bin/fediverse-cop user create alice --email alice@example.org --role owner")
        say("  .venv/bin/fediverse-cop community create welcome --name Welcome --owner alice")
    uvicorn.run(
        "fediverse_cop.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http="httptools",
        loop="uvloop",
        log_config=None,
        proxy_headers=True,
        server_header=False,
        access_log=False,
    )


@app.command("worker")
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Concurrent deliveries (default: the setting).", min=1)
    ] = None,
    lease_seconds: Annotated[
        int, typer.Option(help="How long a claimed job stays reserved.", min=1)
    ] = 300,
) -> None:
    """Run background workers in this process until SIGTERM or Ctrl-C (for scale-out)."""
    import asyncio
    import signal
    from datetime import timedelta

    from fediverse_cop.logs import configure_logging
    from fediverse_cop.runtime import make_http_client, run_workers
    from fediverse_cop.services.remote import federation_for

    current = settings()
    ctx = server_context()
    configure_logging(current.log_level)

    async def body() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with make_http_client(current) as http:
            fed = await federation_for(ctx, http)
            say("worker running; stop with Ctrl-C")
            await run_workers(
                fed, stop, concurrency=concurrency, lease=timedelta(seconds=lease_seconds)
            )
        say("worker stopped")

    run(body)


@app.command("registrations")
def registrations(mode: RegistrationMode) -> None:
    """Set how people sign up: open, approval, invite or closed."""
    ctx = server_context()
    row = run(lambda: instance.set_registrations(ctx, mode))
    say(f"registrations are now {row.registrations.value}")


@app.command("stats")
def stats(as_json: JsonOption = False) -> None:
    """Counts of local users, communities, posts, remote accounts and known instances."""
    figures = run(instance.stats)
    row: dict[str, Any] = dataclasses.asdict(figures)
    emit_one(row, as_json=as_json)


@app.command("recount")
def recount() -> None:
    """Count every account's posts and follows again (after rows were written with the
    database's triggers off, such as a restore with --disable-triggers)."""
    from fediverse_cop.services import account_stats

    wrong = run(account_stats.recount)
    say(f"recounted every account; {wrong} had wrong counts")


def main() -> None:
    app()
