"""NodeInfo 2.0/2.1: what software a peer runs, and our own documents.

Discovery reads ``/.well-known/nodeinfo`` (a list of ``{rel, href}`` links),
prefers schema 2.1, then 2.0, and fetches that document through the shared
:class:`~activitypub.http.SafeHttpClient`. Peers are sloppy with NodeInfo
(missing ``usage``, ``protocols`` in the 1.x ``{inbound, outbound}`` shape,
``openRegistrations`` absent), so every field is optional in
:class:`NodeInfo`; only a links document without a usable 2.x link, or a
document that is not a JSON object, is refused (:class:`NodeInfoError`).

:func:`peer_kind` turns the software name into the kind of peer the outbox
addresses: ``group-aware`` servers (Lemmy, PieFed, Mbin/kbin, NodeBB,
Friendica, fediverse-cop) understand ``Announce`` of activities (FEP-1b12);
everything else, including unknown software, is treated as ``microblog``
(Mastodon-like: ``Announce`` of objects only).

The builders produce our ``/.well-known/nodeinfo`` (with the FEP-2677 link
to the instance actor) and the 2.0/2.1 documents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from activitypub.domains import InvalidDomain, origin_of
from activitypub.errors import InvalidDocument
from activitypub.http import SafeHttpClient

__all__ = [
    "APPLICATION_REL",
    "GROUP_AWARE_SOFTWARE",
    "NODEINFO_20",
    "NODEINFO_21",
    "OUR_SOFTWARE_NAME",
    "NodeInfo",
    "NodeInfoError",
    "NodeInfoUsage",
    "PeerKind",
    "build_nodeinfo",
    "build_nodeinfo_links",
    "fetch_nodeinfo",
    "instance_actor_link",
    "nodeinfo_content_type",
    "nodeinfo_url",
    "parse_nodeinfo",
    "peer_kind",
]

NODEINFO_20 = "http://nodeinfo.diaspora.software/ns/schema/2.0"
NODEINFO_21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"
APPLICATION_REL = "https://www.w3.org/ns/activitystreams#Application"
"""FEP-2677: the ``rel`` of the link to the instance actor in ``/.well-known/nodeinfo``."""
OUR_SOFTWARE_NAME = "fediverse-cop"
GROUP_AWARE_SOFTWARE = frozenset(
    {"lemmy", "piefed", "mbin", "kbin", "nodebb", "friendica", OUR_SOFTWARE_NAME}
)
_PREFERENCE = {"2.1": 0, "2.0": 1}
_SCHEMA_PREFIXES = (
    "http://nodeinfo.diaspora.software/ns/schema/",
    "https://nodeinfo.diaspora.software/ns/schema/",
)
_NODEINFO_CONTENT_TYPE = 'application/json; profile="{schema}#"'
_MAX_TEXT = 200

PeerKind = Literal["group-aware", "microblog"]


class NodeInfoError(InvalidDocument):
    """No usable NodeInfo: no 2.x link, or a document that is not a JSON object."""


@dataclass(frozen=True, slots=True)
class NodeInfoUsage:
    users_total: int | None = None
    users_active_month: int | None = None
    users_active_halfyear: int | None = None
    local_posts: int | None = None


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What a peer says about itself. ``software_name`` is lowercased ("" when absent).

    ``metadata`` is a read-only view of the document's free-form ``metadata``
    object (its nested values are the parsed JSON: treat them as read-only).
    """

    software_name: str
    software_version: str
    protocols: tuple[str, ...] = ()
    open_registrations: bool | None = None
    metadata: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    usage: NodeInfoUsage = field(default_factory=NodeInfoUsage)
    schema_version: str | None = None
    source_url: str | None = None

    @property
    def kind(self) -> PeerKind:
        return peer_kind(self.software_name)

    @property
    def speaks_activitypub(self) -> bool:
        return "activitypub" in self.protocols


def peer_kind(software_name: str | None) -> PeerKind:
    """``group-aware`` for Lemmy, PieFed, Mbin, kbin, NodeBB, Friendica, fediverse-cop;
    ``microblog`` for everything else, unknown software included."""
    name = (software_name or "").strip().lower()
    return "group-aware" if name in GROUP_AWARE_SOFTWARE else "microblog"


def _schema_version(rel: object) -> str | None:
    if not isinstance(rel, str):
        return None
    for prefix in _SCHEMA_PREFIXES:
        if rel.startswith(prefix):
            version = rel[len(prefix) :].rstrip("/#")
            return version if version in _PREFERENCE else None
    return None


def _links(document: object, url: str) -> list[Mapping[str, Any]]:
    if not isinstance(document, Mapping):
        raise NodeInfoError("NodeInfo links document is not a JSON object", url=url)
    links = document.get("links")
    if isinstance(links, Mapping):  # a single link object instead of a list
        links = [links]
    if not isinstance(links, list):
        return []
    return [link for link in links if isinstance(link, Mapping)]


def _http_href(link: Mapping[str, Any]) -> str | None:
    href = link.get("href")
    if not isinstance(href, str):
        return None
    try:
        origin_of(href)
    except InvalidDomain:
        return None
    return href


def nodeinfo_url(document: object, url: str) -> tuple[str, str]:
    """``(href, version)`` of the preferred NodeInfo link (2.1, then 2.0); raise NodeInfoError."""
    best: tuple[int, str, str] | None = None
    for link in _links(document, url):
        version = _schema_version(link.get("rel"))
        href = _http_href(link)
        if version is None or href is None:
            continue
        rank = _PREFERENCE[version]
        if best is None or rank < best[0]:
            best = (rank, href, version)
    if best is None:
        raise NodeInfoError("no NodeInfo 2.0 or 2.1 link", url=url)
    return best[1], best[2]


def instance_actor_link(document: object, url: str) -> str | None:
    """The FEP-2677 instance actor URI of a ``/.well-known/nodeinfo`` document, if any."""
    for link in _links(document, url):
        if link.get("rel") == APPLICATION_REL:
            href = _http_href(link)
            if href is not None:
                return href
    return None


def _text(value: object) -> str:
    return value.strip()[:_MAX_TEXT] if isinstance(value, str) else ""


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def _protocols(value: object) -> tuple[str, ...]:
    items: list[object]
    if isinstance(value, list):
        items = value
    elif isinstance(value, Mapping):  # NodeInfo 1.x: {"inbound": [...], "outbound": [...]}
        items = [p for key in ("inbound", "outbound") for p in _as_list(value.get(key))]
    elif isinstance(value, str):
        items = [value]
    else:
        items = []
    names = (item.strip().lower() for item in items if isinstance(item, str) and item.strip())
    return tuple(dict.fromkeys(names))


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def parse_nodeinfo(document: object, url: str, *, version: str | None = None) -> NodeInfo:
    """Read a NodeInfo document; every field is optional; a non-object raises NodeInfoError."""
    if not isinstance(document, Mapping):
        raise NodeInfoError("NodeInfo document is not a JSON object", url=url)
    software = document.get("software")
    software = software if isinstance(software, Mapping) else {}
    usage = document.get("usage")
    usage = usage if isinstance(usage, Mapping) else {}
    users = usage.get("users")
    users = users if isinstance(users, Mapping) else {}
    metadata = document.get("metadata")
    open_registrations = document.get("openRegistrations")
    declared = document.get("version")
    return NodeInfo(
        software_name=_text(software.get("name")).lower(),
        software_version=_text(software.get("version")),
        protocols=_protocols(document.get("protocols")),
        open_registrations=open_registrations if isinstance(open_registrations, bool) else None,
        metadata=MappingProxyType(dict(metadata) if isinstance(metadata, Mapping) else {}),
        usage=NodeInfoUsage(
            users_total=_count(users.get("total")),
            users_active_month=_count(users.get("activeMonth")),
            users_active_halfyear=_count(users.get("activeHalfyear")),
            local_posts=_count(usage.get("localPosts")),
        ),
        schema_version=declared if isinstance(declared, str) else version,
        source_url=url,
    )


async def fetch_nodeinfo(
    http: SafeHttpClient, domain: str, *, scheme: Literal["https", "http"] = "https"
) -> NodeInfo:
    """Discover and fetch the NodeInfo of ``domain`` (``host`` or ``host:port``).

    Raises only :mod:`activitypub.errors` errors (NodeInfoError among them).
    """
    well_known = f"{scheme}://{domain}/.well-known/nodeinfo"
    links = await http.get_json(well_known)
    href, version = nodeinfo_url(links, well_known)
    document = await http.get_json(href)
    return parse_nodeinfo(document, href, version=version)


# -- our documents -------------------------------------------------------------


def build_nodeinfo_links(base_url: str, instance_actor_uri: str | None = None) -> dict[str, Any]:
    """Our ``/.well-known/nodeinfo``: 2.1 and 2.0 links, plus the FEP-2677 instance actor."""
    base = base_url.rstrip("/")
    links: list[dict[str, str]] = [
        {"rel": NODEINFO_21, "href": f"{base}/nodeinfo/2.1"},
        {"rel": NODEINFO_20, "href": f"{base}/nodeinfo/2.0"},
    ]
    if instance_actor_uri is not None:
        links.append({"rel": APPLICATION_REL, "href": instance_actor_uri})
    return {"links": links}


def nodeinfo_content_type(version: Literal["2.0", "2.1"]) -> str:
    """The ``Content-Type`` the NodeInfo schema asks for."""
    schema = NODEINFO_21 if version == "2.1" else NODEINFO_20
    return _NODEINFO_CONTENT_TYPE.format(schema=schema)


def build_nodeinfo(
    version: Literal["2.0", "2.1"],
    *,
    software_version: str,
    open_registrations: bool,
    usage: NodeInfoUsage,
    metadata: Mapping[str, Any],
    software_name: str = OUR_SOFTWARE_NAME,
    repository: str | None = None,
    homepage: str | None = None,
    protocols: Sequence[str] = ("activitypub",),
) -> dict[str, Any]:
    """A NodeInfo 2.0 or 2.1 document (``repository``/``homepage`` exist in 2.1 only)."""
    software: dict[str, Any] = {"name": software_name, "version": software_version}
    if version == "2.1":
        if repository is not None:
            software["repository"] = repository
        if homepage is not None:
            software["homepage"] = homepage
    users: dict[str, int] = {}
    for key, value in (
        ("total", usage.users_total),
        ("activeMonth", usage.users_active_month),
        ("activeHalfyear", usage.users_active_halfyear),
    ):
        if value is not None:
            users[key] = value
    usage_doc: dict[str, Any] = {"users": users}
    if usage.local_posts is not None:
        usage_doc["localPosts"] = usage.local_posts
    return {
        "version": version,
        "software": software,
        "protocols": list(protocols),
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": open_registrations,
        "usage": usage_doc,
        "metadata": dict(metadata),
    }
