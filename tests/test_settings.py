"""Settings: defaults, environment, TOML, validation and the stored secret key."""

from __future__ import annotations

import ipaddress
import os
import stat
import subprocess
from pathlib import Path

import pytest

from fediverse_cop.settings import RegistrationMode, SettingsError, load_settings
from tests.conftest import CLI


def test_defaults_need_no_configuration(tmp_path: Path) -> None:
    settings = load_settings(environ={"COP_DATA_DIR": str(tmp_path)})
    assert settings.domain == "127.0.0.1:8000"
    assert settings.scheme == "https"
    assert settings.database_url == f"sqlite://{tmp_path / 'fediverse-cop.sqlite3'}"
    assert settings.media_root == tmp_path / "media"
    assert settings.registrations is RegistrationMode.APPROVAL
    assert settings.allowed_private_networks == ()
    assert settings.max_request_body == 1024 * 1024
    assert settings.is_sqlite


def test_environment_overrides_toml(tmp_path: Path) -> None:
    config = tmp_path / "cop.toml"
    config.write_text(
        'domain = "Social.Uni-A.edu."\n'
        'scheme = "http"\n'
        'registrations = "invite"\n'
        'allowed_private_networks = ["127.0.0.0/8", "::1/128"]\n'
        "worker_concurrency = 4\n"
    )
    settings = load_settings(
        config,
        environ={"COP_DATA_DIR": str(tmp_path), "COP_WORKER_CONCURRENCY": "16"},
    )
    assert settings.domain == "social.uni-a.edu"
    assert settings.base_url == "http://social.uni-a.edu"
    assert settings.registrations is RegistrationMode.INVITE
    assert settings.allowed_private_networks == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert settings.worker_concurrency == 16


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "DOMAIN",
            "evil.example/x",
            "setting domain (COP_DOMAIN): 'evil.example/x' is not a domain name",
        ),
        ("SCHEME", "ftp", "setting scheme (COP_SCHEME): must be http or https, not 'ftp'"),
        (
            "DATABASE_URL",
            "mysql://x",
            "setting database_url (COP_DATABASE_URL): must be a sqlite:// or postgresql:// URL",
        ),
        (
            "SECRET_KEY",
            "short",
            "setting secret_key (COP_SECRET_KEY): must be at least 32 characters long",
        ),
        (
            "REGISTRATIONS",
            "sometimes",
            "setting registrations (COP_REGISTRATIONS): must be one of open, approval, invite, closed",
        ),
        (
            "ALLOWED_PRIVATE_NETWORKS",
            "10.0.0.0/8,banana",
            "setting allowed_private_networks (COP_ALLOWED_PRIVATE_NETWORKS): 'banana' is not a network",
        ),
        (
            "MAX_REQUEST_BODY",
            "lots",
            "setting max_request_body (COP_MAX_REQUEST_BODY): must be a whole number, not 'lots'",
        ),
        (
            "DATABASE_POOL_SIZE",
            "0",
            "setting database_pool_size (COP_DATABASE_POOL_SIZE): must be between 1 and 1000, not 0",
        ),
        (
            "WORKER_CONCURRENCY",
            "0",
            "setting worker_concurrency (COP_WORKER_CONCURRENCY): must be between 1 and 1024, not 0",
        ),
    ],
)
def test_bad_values_name_the_setting(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"COP_DATA_DIR": str(tmp_path), f"COP_{name}": value})
    assert str(caught.value).startswith(message)


def test_unknown_key_in_toml_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "cop.toml"
    config.write_text('domian = "x.example"\n')
    with pytest.raises(SettingsError, match=r"^setting domian: is not a known setting"):
        load_settings(config, environ={"COP_DATA_DIR": str(tmp_path)})


def test_broken_toml_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "cop.toml"
    config.write_text("domain = \n")
    with pytest.raises(SettingsError, match=r"^setting config: cannot read"):
        load_settings(config, environ={"COP_DATA_DIR": str(tmp_path)})


def test_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = load_settings(environ={"COP_DATA_DIR": str(tmp_path)})
    second = load_settings(environ={"COP_DATA_DIR": str(tmp_path)})
    stored = tmp_path / "secret_key"
    assert first.secret_key == second.secret_key == stored.read_text().strip()
    assert len(first.secret_key) >= 32
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert first.secret_key not in repr(first)


def test_cli_reports_a_bad_setting_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COP_")}
    env.update({"COP_DATA_DIR": str(tmp_path), "COP_SCHEME": "gopher"})
    completed = subprocess.run(
        [CLI, "user", "list"], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert completed.returncode == 1
    assert (
        completed.stderr
        == "error: setting scheme (COP_SCHEME): must be http or https, not 'gopher'\n"
    )
