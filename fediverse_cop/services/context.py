"""What every service needs to know about the instance it runs in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from activitypub.uris import LocalURIs
from fediverse_cop.settings import Settings


@dataclass(frozen=True, slots=True)
class ServerContext:
    settings: Settings

    @property
    def uris(self) -> LocalURIs:
        return LocalURIs(self.settings.scheme, self.settings.domain)

    @property
    def domain(self) -> str:
        return self.settings.domain


def utcnow() -> datetime:
    return datetime.now(UTC)
