"""Content negotiation: does a request ask for ActivityStreams JSON or for a web page?

One URL serves both (DESIGN.md §3). A request gets AS2 JSON when its ``Accept``
header names ``application/activity+json``, or ``application/ld+json`` with no
profile or with the ActivityStreams profile, with a quality at least as high as
the best it gives to HTML (``text/html``, ``application/xhtml+xml``, ``text/*``
or ``*/*``). Wildcards never select AS2: a browser's ``*/*`` gets the page.
Ties go to AS2, since only a fediverse client names an AS2 type explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "AS2_CONTENT_TYPE",
    "AS2_PROFILE",
    "MediaRange",
    "parse_accept",
    "wants_activity_json",
]

AS2_CONTENT_TYPE: Final = "application/activity+json"
AS2_PROFILE: Final = "https://www.w3.org/ns/activitystreams"
_LD_JSON: Final = "application/ld+json"
_HTML_RANGES: Final = frozenset({"text/html", "application/xhtml+xml", "text/*", "*/*"})
# An Accept header longer than this, or with more ranges, is read only up to the limit.
_MAX_HEADER: Final = 4096
_MAX_RANGES: Final = 64


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One entry of an ``Accept`` header: ``type/subtype`` (lowercased), parameters, quality."""

    media_type: str
    params: dict[str, str]
    q: float


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif quoted and char == "\\":
            current.append(char)
            escaped = True
        elif char == '"':
            current.append(char)
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        result: list[str] = []
        escaped = False
        for char in inner:
            if escaped or char != "\\":
                result.append(char)
                escaped = False
            else:
                escaped = True
        return "".join(result)
    return value


def _quality(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    if not 0.0 <= value <= 1.0:
        return None
    return value


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an ``Accept`` header; malformed entries are skipped."""
    if not header:
        return []
    ranges: list[MediaRange] = []
    for entry in _split_outside_quotes(header[:_MAX_HEADER], ",")[:_MAX_RANGES]:
        pieces = _split_outside_quotes(entry, ";")
        media_type = pieces[0].strip().lower()
        kind, slash, subtype = media_type.partition("/")
        if not slash or not kind or not subtype:
            continue
        params: dict[str, str] = {}
        q: float | None = 1.0
        for piece in pieces[1:]:
            name, equals, value = piece.partition("=")
            name = name.strip().lower()
            if not equals or not name:
                continue
            if name == "q":
                q = _quality(value.strip())
            else:
                params[name] = _unquote(value)
        if q is None:
            continue
        ranges.append(MediaRange(media_type, params, q))
    return ranges


def _is_activity_json(media: MediaRange) -> bool:
    if media.media_type == AS2_CONTENT_TYPE:
        return True
    if media.media_type != _LD_JSON:
        return False
    profile = media.params.get("profile")
    return profile is None or AS2_PROFILE in profile.split()


def wants_activity_json(accept: str | None) -> bool:
    """True when the ``Accept`` header asks for ActivityStreams JSON rather than HTML."""
    as2_q = 0.0
    html_q = 0.0
    for media in parse_accept(accept):
        if _is_activity_json(media):
            as2_q = max(as2_q, media.q)
        elif media.media_type in _HTML_RANGES:
            html_q = max(html_q, media.q)
    return as2_q > 0.0 and as2_q >= html_q
