"""One typed settings object, read from ``COP_*`` environment variables and an optional TOML file.

Precedence, highest first: environment variables, the TOML file, defaults. Every
value is validated when the settings are loaded; a bad value raises
:class:`SettingsError`, which names the setting and what is wrong (the CLI turns
it into one line and exit status 1).

The secret key is special: when neither the environment nor the file sets it, it
is read from ``<data_dir>/secret_key``, and generated there (mode 0600) on first
use. It never appears in ``repr()`` or logs.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from activitypub.domains import InvalidDomain, normalize_host_port

ENV_PREFIX = "COP_"
DEFAULT_DOMAIN = "127.0.0.1:8000"
DEFAULT_DATA_DIR = "data"


class SettingsError(Exception):
    """A setting has a value we cannot run with."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"setting {name}: {problem}")
        self.name = name
        self.problem = problem


class RegistrationMode(StrEnum):
    OPEN = "open"
    APPROVAL = "approval"
    INVITE = "invite"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Settings:
    domain: str = DEFAULT_DOMAIN
    scheme: str = "https"
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    database_url: str = ""
    # Connections each process keeps to PostgreSQL at most (SQLite has one).
    database_pool_size: int = 10
    media_root: Path = Path()
    secret_key: str = field(default="", repr=False)
    registrations: RegistrationMode = RegistrationMode.APPROVAL
    allowed_private_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    max_request_body: int = 1024 * 1024
    max_media_body: int = 40 * 1024 * 1024
    worker_concurrency: int = 8
    # serve runs the background workers in its own process unless this is false.
    in_process_workers: bool = True
    # Every ActivityPub GET must be signed (Mastodon's secure mode).
    authorized_fetch: bool = False
    # The OAuth password grant (legacy clients); off unless the operator enables it.
    oauth_password_grant: bool = False
    # Client API requests per token (or address) per 5 minutes; 0 turns the limit off.
    api_rate_limit: int = 300
    # Where the source of the running code is published (AGPL); shown by the instance API.
    source_url: str = ""
    log_level: str = "info"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")


# name -> parser turning raw text (or a TOML value) into the typed value
def parse_domain_setting(raw: Any) -> str:
    """Validate a value for the ``domain`` setting (also used by ``init --domain``)."""
    if not isinstance(raw, str):
        raise ValueError("must be a host name such as social.uni-a.edu")
    try:
        return normalize_host_port(raw)
    except InvalidDomain as exc:
        raise ValueError(str(exc)) from None


def _parse_scheme(raw: Any) -> str:
    value = str(raw).strip().lower()
    if value not in ("http", "https"):
        raise ValueError(f"must be http or https, not {raw!r}")
    return value


def _parse_database_url(raw: Any) -> str:
    value = str(raw).strip()
    scheme = urlsplit(value).scheme
    if scheme not in ("sqlite", "postgres", "postgresql", "asyncpg", "psycopg"):
        raise ValueError(f"must be a sqlite:// or postgresql:// URL, not {value!r}")
    return value


def _parse_path(raw: Any) -> Path:
    value = str(raw).strip()
    if not value:
        raise ValueError("must not be empty")
    return Path(value)


def _parse_secret(raw: Any) -> str:
    value = str(raw)
    if len(value) < 32:
        raise ValueError("must be at least 32 characters long")
    return value


def _parse_registrations(raw: Any) -> RegistrationMode:
    try:
        return RegistrationMode(str(raw).strip().lower())
    except ValueError:
        choices = ", ".join(m.value for m in RegistrationMode)
        raise ValueError(f"must be one of {choices}, not {raw!r}") from None


def _parse_networks(raw: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    items = [p for p in str(raw).replace(" ", ",").split(",") if p] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise ValueError("must be a list of networks such as 127.0.0.0/8")
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not a network such as 127.0.0.0/8") from None
    return tuple(networks)


def _positive_int(minimum: int, maximum: int) -> Any:
    def parse(raw: Any) -> int:
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise ValueError(f"must be a whole number, not {raw!r}") from None
        if not minimum <= value <= maximum:
            raise ValueError(f"must be between {minimum} and {maximum}, not {value}")
        return value

    return parse


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"must be true or false, not {raw!r}")


def _parse_source_url(raw: Any) -> str:
    value = str(raw).strip()
    if value and urlsplit(value).scheme not in ("http", "https"):
        raise ValueError(f"must be an http(s) URL, not {value!r}")
    return value


def _parse_log_level(raw: Any) -> str:
    value = str(raw).strip().lower()
    if value not in ("critical", "error", "warning", "info", "debug"):
        raise ValueError(f"must be one of critical, error, warning, info, debug, not {raw!r}")
    return value


_PARSERS: dict[str, Any] = {
    "domain": parse_domain_setting,
    "scheme": _parse_scheme,
    "data_dir": _parse_path,
    "database_url": _parse_database_url,
    "database_pool_size": _positive_int(1, 1000),
    "media_root": _parse_path,
    "secret_key": _parse_secret,
    "registrations": _parse_registrations,
    "allowed_private_networks": _parse_networks,
    "max_request_body": _positive_int(1024, 1024 * 1024 * 1024),
    "max_media_body": _positive_int(1024, 16 * 1024 * 1024 * 1024),
    "worker_concurrency": _positive_int(1, 1024),
    "in_process_workers": _parse_bool,
    "authorized_fetch": _parse_bool,
    "oauth_password_grant": _parse_bool,
    "api_rate_limit": _positive_int(0, 1_000_000_000),
    "source_url": _parse_source_url,
    "log_level": _parse_log_level,
}
assert set(_PARSERS) == {f.name for f in fields(Settings)}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError("config", f"file {path} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError("config", f"cannot read {path}: {exc}") from None
    unknown = sorted(set(data) - set(_PARSERS))
    if unknown:
        raise SettingsError(unknown[0], f"is not a known setting (in {path})")
    return data


def load_settings(
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    ensure_secret: bool = True,
) -> Settings:
    """Build the settings from defaults, the TOML file and ``COP_*`` variables."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    config_path = config_file or env.get(ENV_PREFIX + "CONFIG")
    if config_path:
        raw.update(_read_toml(Path(config_path)))
    for name in _PARSERS:
        key = ENV_PREFIX + name.upper()
        if key in env:
            raw[name] = env[key]

    values: dict[str, Any] = {}
    for name, value in raw.items():
        try:
            values[name] = _PARSERS[name](value)
        except ValueError as exc:
            raise SettingsError(_display_name(name), str(exc)) from None

    data_dir: Path = values.get("data_dir", Path(DEFAULT_DATA_DIR))
    values.setdefault("database_url", f"sqlite://{data_dir / 'fediverse-cop.sqlite3'}")
    values.setdefault("media_root", data_dir / "media")
    if "secret_key" not in values and ensure_secret:
        values["secret_key"] = _stored_secret(data_dir)
    return Settings(**values)


def _display_name(name: str) -> str:
    return f"{name} ({ENV_PREFIX}{name.upper()})"


def _stored_secret(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    except OSError as exc:
        raise SettingsError(_display_name("secret_key"), f"cannot read {path}: {exc}") from None
    if existing:
        return existing
    secret = secrets.token_urlsafe(48)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    except OSError as exc:
        raise SettingsError(_display_name("secret_key"), f"cannot create {path}: {exc}") from None
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    return secret
