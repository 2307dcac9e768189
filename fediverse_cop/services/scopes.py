"""OAuth scopes of the Mastodon client API, and which granted scope covers which needed one.

``read``, ``write``, ``follow``, ``push``, ``profile`` and the admin scopes are the
top levels; ``read:statuses`` and the like are the granular scopes. A top-level
scope covers its granular ones, and the legacy ``follow`` scope covers the
follow, block and mute scopes, as in Mastodon.
"""

from __future__ import annotations

from collections.abc import Iterable

TOP_LEVEL = ("read", "write", "follow", "push", "profile")

GRANULAR = (
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
)

ADMIN = (
    "admin:read",
    "admin:write",
    "admin:read:accounts",
    "admin:read:reports",
    "admin:read:domain_blocks",
    "admin:write:accounts",
    "admin:write:reports",
    "admin:write:domain_blocks",
)

ALL: frozenset[str] = frozenset((*TOP_LEVEL, *GRANULAR, *ADMIN))

_FOLLOW_COVERS = frozenset(
    {
        "read:follows",
        "write:follows",
        "read:blocks",
        "write:blocks",
        "read:mutes",
        "write:mutes",
    }
)


class InvalidScope(ValueError):
    pass


def parse(value: str | None, *, default: str = "read") -> frozenset[str]:
    """Split a space (or ``+``, or comma) separated scope string; unknown scopes are refused."""
    text = (value or "").replace("+", " ").replace(",", " ").strip() or default
    scopes = frozenset(text.split())
    unknown = sorted(scopes - ALL)
    if unknown:
        raise InvalidScope(f"unknown scope {unknown[0]!r}")
    return scopes


def allows(granted: Iterable[str], needed: str) -> bool:
    """Whether a token with ``granted`` scopes may do what needs ``needed``."""
    have = frozenset(granted)
    if needed in have:
        return True
    parts = needed.split(":")
    # admin:read:accounts is covered by admin:read; read:statuses by read.
    if len(parts) > 1 and ":".join(parts[:-1]) in have:
        return True
    return "follow" in have and needed in _FOLLOW_COVERS


def subset(requested: frozenset[str], allowed: frozenset[str]) -> bool:
    """Whether every requested scope is one the app registered (or is covered by one)."""
    return all(allows(allowed, scope) for scope in requested)


def to_string(scopes: Iterable[str]) -> str:
    return " ".join(sorted(scopes, key=lambda s: (":" in s, s)))
