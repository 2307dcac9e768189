"""The streams a client can subscribe to, as Mastodon names them.

A subscription is a :class:`StreamKey`: the stream name plus its ``tag`` (hashtag
streams) or ``list`` (list stream). Every stream needs a user token, as on
Mastodon since 4.2; ``user:notification`` needs ``read:notifications``, the
others ``read:statuses`` (``read`` covers both).
"""

from __future__ import annotations

from dataclasses import dataclass

from fediverse_cop.services import scopes as scope_rules

USER = "user"
USER_NOTIFICATION = "user:notification"
PUBLIC = "public"
PUBLIC_MEDIA = "public:media"
PUBLIC_LOCAL = "public:local"
PUBLIC_LOCAL_MEDIA = "public:local:media"
PUBLIC_REMOTE = "public:remote"
PUBLIC_REMOTE_MEDIA = "public:remote:media"
HASHTAG = "hashtag"
HASHTAG_LOCAL = "hashtag:local"
LIST = "list"
DIRECT = "direct"

PUBLIC_STREAMS = frozenset(
    {
        PUBLIC,
        PUBLIC_MEDIA,
        PUBLIC_LOCAL,
        PUBLIC_LOCAL_MEDIA,
        PUBLIC_REMOTE,
        PUBLIC_REMOTE_MEDIA,
    }
)
HASHTAG_STREAMS = frozenset({HASHTAG, HASHTAG_LOCAL})
ALL_STREAMS = PUBLIC_STREAMS | HASHTAG_STREAMS | {USER, USER_NOTIFICATION, LIST, DIRECT}

# The SSE paths under /api/v1/streaming/ and the stream each one serves.
SSE_PATHS: dict[str, str] = {
    "user": USER,
    "user/notification": USER_NOTIFICATION,
    "public": PUBLIC,
    "public/local": PUBLIC_LOCAL,
    "public/remote": PUBLIC_REMOTE,
    "hashtag": HASHTAG,
    "hashtag/local": HASHTAG_LOCAL,
    "list": LIST,
    "direct": DIRECT,
}

MAX_TAG_LENGTH = 100


class StreamError(ValueError):
    """A subscription that cannot be made; the message is what the client is told."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class StreamKey:
    name: str
    tag: str | None = None
    list_id: int | None = None

    @property
    def label(self) -> tuple[str, ...]:
        """The ``stream`` array of the frames sent for this subscription."""
        if self.tag is not None:
            return (self.name, self.tag)
        if self.list_id is not None:
            return (self.name, str(self.list_id))
        return (self.name,)

    @property
    def local_only(self) -> bool:
        return self.name in (PUBLIC_LOCAL, PUBLIC_LOCAL_MEDIA, HASHTAG_LOCAL)

    @property
    def remote_only(self) -> bool:
        return self.name in (PUBLIC_REMOTE, PUBLIC_REMOTE_MEDIA)

    @property
    def only_media(self) -> bool:
        return self.name.endswith(":media")


def parse(name: str | None, *, tag: str | None = None, list_id: str | None = None) -> StreamKey:
    """The subscription a client asked for; :class:`StreamError` when it makes no sense."""
    if not name or name not in ALL_STREAMS:
        raise StreamError("Unknown stream type")
    if name in HASHTAG_STREAMS:
        cleaned = (tag or "").strip().lstrip("#").lower()
        if not cleaned or len(cleaned) > MAX_TAG_LENGTH:
            raise StreamError("No tag for stream provided")
        return StreamKey(name, tag=cleaned)
    if name == LIST:
        try:
            number = int(list_id or "")
        except ValueError:
            raise StreamError("No list for stream provided") from None
        return StreamKey(name, list_id=number)
    return StreamKey(name)


def with_only_media(name: str, only_media: bool) -> str:
    """``public`` with ``only_media=true`` (an SSE parameter) is ``public:media``."""
    if only_media and name in PUBLIC_STREAMS and not name.endswith(":media"):
        return f"{name}:media"
    return name


def required_scope(name: str) -> tuple[str, ...]:
    """Any one of these scopes lets a token read ``name``."""
    if name == USER_NOTIFICATION:
        return ("read:notifications",)
    return ("read:statuses",)


def filter_context(name: str) -> str | None:
    """The filter context whose ``hide`` filters keep posts out of stream ``name``: ``home``
    for the home and list streams, ``public`` for public and hashtag streams. The
    ``direct`` stream has none (its conversations report matches in ``filtered`` only);
    notifications, on whichever stream, use ``notifications``."""
    if name in (USER, LIST):
        return "home"
    if name in PUBLIC_STREAMS or name in HASHTAG_STREAMS:
        return "public"
    if name == USER_NOTIFICATION:
        return "notifications"
    return None


def allowed(scopes: frozenset[str], name: str) -> bool:
    return any(scope_rules.allows(scopes, scope) for scope in required_scope(name))
