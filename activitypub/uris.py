"""Every local URI, built and parsed from one table of templates.

The web routes are declared from the same templates (see ``ROUTE_TEMPLATES``), so a
URI the server hands out always has a route that answers it, and an incoming URI
is recognised as ours by :meth:`LocalURIs.parse` rather than by string prefixes
scattered through the code.

People live under ``/users/{name}`` (as on Mastodon) and communities under
``/c/{name}`` (as on Lemmy). Both share one namespace of handles, so a name
resolves to at most one of them. The instance actor is ``/actor``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit


class Kind(StrEnum):
    USER = "user"
    USER_INBOX = "user_inbox"
    USER_OUTBOX = "user_outbox"
    USER_FOLLOWERS = "user_followers"
    USER_FOLLOWING = "user_following"
    USER_FEATURED = "user_featured"
    USER_KEY = "user_key"
    COMMUNITY = "community"
    COMMUNITY_INBOX = "community_inbox"
    COMMUNITY_OUTBOX = "community_outbox"
    COMMUNITY_FOLLOWERS = "community_followers"
    COMMUNITY_FOLLOWING = "community_following"
    COMMUNITY_FEATURED = "community_featured"
    COMMUNITY_MODERATORS = "community_moderators"
    COMMUNITY_RESOURCES = "community_resources"
    COMMUNITY_KEY = "community_key"
    INSTANCE_ACTOR = "instance_actor"
    INSTANCE_ACTOR_KEY = "instance_actor_key"
    SHARED_INBOX = "shared_inbox"
    OBJECT = "object"
    OBJECT_ACTIVITY = "object_activity"
    ACTIVITY = "activity"
    TAG = "tag"


# Starlette path templates; a key id is the actor URI plus a fragment.
ROUTE_TEMPLATES: dict[Kind, str] = {
    Kind.USER: "/users/{name}",
    Kind.USER_INBOX: "/users/{name}/inbox",
    Kind.USER_OUTBOX: "/users/{name}/outbox",
    Kind.USER_FOLLOWERS: "/users/{name}/followers",
    Kind.USER_FOLLOWING: "/users/{name}/following",
    Kind.USER_FEATURED: "/users/{name}/collections/featured",
    Kind.COMMUNITY: "/c/{name}",
    Kind.COMMUNITY_INBOX: "/c/{name}/inbox",
    Kind.COMMUNITY_OUTBOX: "/c/{name}/outbox",
    Kind.COMMUNITY_FOLLOWERS: "/c/{name}/followers",
    Kind.COMMUNITY_FOLLOWING: "/c/{name}/following",
    Kind.COMMUNITY_FEATURED: "/c/{name}/featured",
    Kind.COMMUNITY_MODERATORS: "/c/{name}/moderators",
    Kind.COMMUNITY_RESOURCES: "/c/{name}/resources",
    Kind.INSTANCE_ACTOR: "/actor",
    Kind.SHARED_INBOX: "/inbox",
    Kind.OBJECT: "/objects/{id}",
    Kind.OBJECT_ACTIVITY: "/objects/{id}/activity",
    Kind.ACTIVITY: "/activities/{id}",
    Kind.TAG: "/tags/{name}",
}
KEY_FRAGMENT = "#main-key"
_KEYS = {
    Kind.USER_KEY: Kind.USER,
    Kind.COMMUNITY_KEY: Kind.COMMUNITY,
    Kind.INSTANCE_ACTOR_KEY: Kind.INSTANCE_ACTOR,
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_SEGMENT = r"[^/?#]+"


def _compile(template: str) -> re.Pattern[str]:
    pattern = ""
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        pattern += re.escape(template[position : match.start()])
        pattern += f"(?P<{match.group(1)}>{_SEGMENT})"
        position = match.end()
    pattern += re.escape(template[position:])
    return re.compile(f"^{pattern}$")


_PATTERNS = [(kind, _compile(template)) for kind, template in ROUTE_TEMPLATES.items()]


@dataclass(frozen=True, slots=True)
class ParsedURI:
    kind: Kind
    params: dict[str, str]

    @property
    def name(self) -> str:
        return self.params["name"]


@dataclass(frozen=True, slots=True)
class LocalURIs:
    """URIs of one instance, e.g. ``LocalURIs("https", "uni-a.edu")``."""

    scheme: str
    domain: str

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.domain}"

    def build(self, kind: Kind, **params: str) -> str:
        if kind in _KEYS:
            return self.build(_KEYS[kind], **params) + KEY_FRAGMENT
        template = ROUTE_TEMPLATES[kind]
        return self.base + template.format(**params)

    def parse(self, uri: str) -> ParsedURI | None:
        """Recognise one of our URIs; None for anything on another origin or unknown path."""
        try:
            parts = urlsplit(uri)
        except ValueError:
            return None
        if parts.scheme != self.scheme or parts.netloc.lower() != self.domain:
            return None
        if parts.query:
            return None
        for kind, pattern in _PATTERNS:
            match = pattern.match(parts.path)
            if match:
                if parts.fragment == KEY_FRAGMENT[1:]:
                    key_kind = next((k for k, v in _KEYS.items() if v is kind), None)
                    if key_kind is None:
                        return None
                    return ParsedURI(key_kind, match.groupdict())
                if parts.fragment:
                    return None
                return ParsedURI(kind, match.groupdict())
        return None

    # Convenience builders used throughout the app.
    def user(self, name: str) -> str:
        return self.build(Kind.USER, name=name)

    def community(self, name: str) -> str:
        return self.build(Kind.COMMUNITY, name=name)

    def instance_actor(self) -> str:
        return self.build(Kind.INSTANCE_ACTOR)

    def shared_inbox(self) -> str:
        return self.build(Kind.SHARED_INBOX)

    def actor_collections(self, name: str, *, community: bool) -> dict[str, str]:
        """The URIs stored on a local actor's account row."""
        if community:
            return {
                "uri": self.build(Kind.COMMUNITY, name=name),
                "inbox_uri": self.build(Kind.COMMUNITY_INBOX, name=name),
                "outbox_uri": self.build(Kind.COMMUNITY_OUTBOX, name=name),
                "followers_uri": self.build(Kind.COMMUNITY_FOLLOWERS, name=name),
                "following_uri": self.build(Kind.COMMUNITY_FOLLOWING, name=name),
                "featured_uri": self.build(Kind.COMMUNITY_FEATURED, name=name),
                "public_key_id": self.build(Kind.COMMUNITY_KEY, name=name),
                "shared_inbox_uri": self.shared_inbox(),
            }
        return {
            "uri": self.build(Kind.USER, name=name),
            "inbox_uri": self.build(Kind.USER_INBOX, name=name),
            "outbox_uri": self.build(Kind.USER_OUTBOX, name=name),
            "followers_uri": self.build(Kind.USER_FOLLOWERS, name=name),
            "following_uri": self.build(Kind.USER_FOLLOWING, name=name),
            "featured_uri": self.build(Kind.USER_FEATURED, name=name),
            "public_key_id": self.build(Kind.USER_KEY, name=name),
            "shared_inbox_uri": self.shared_inbox(),
        }
