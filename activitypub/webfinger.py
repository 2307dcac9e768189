"""WebFinger (RFC 7033): looking up handles and URLs, binding handles to actors, serving JRDs.

Lookups
-------
:class:`WebFingerClient` asks ``https://host/.well-known/webfinger?resource=…``
through the shared :class:`~activitypub.http.SafeHttpClient` (``get_json``:
SSRF guard, size and time limits). When that answers 404 it falls back to the
host's ``/.well-known/host-meta`` (XRD, or its JSON form) and follows the
``lrdd`` template, as Mastodon does; the template may name another host (a
server that delegates its WebFinger), which is allowed for fetching the JRD
only. Every failure is one of :mod:`activitypub.errors`; an unusable JRD is an
:class:`~activitypub.errors.InvalidDocument`.

The identity rule (handles)
---------------------------
A JRD only tells what its *host* claims. ``evil.example`` can answer with
``subject: acct:alice@victim.example``; that must never make alice's handle
point at an evil actor. :meth:`WebFingerClient.bind_handle` therefore binds
``user@host`` to an actor only when

* the WebFinger of ``host`` itself (``acct:user@host`` asked at ``host``) has
  that subject and a ``self`` link equal to the actor id, and
* the actor lives on ``host``, or, when it lives on another host (split
  domains: handle on ``example.com``, server on ``social.example.com``), the
  WebFinger at the *actor's* host also answers with subject ``acct:user@host``
  and the same ``self`` link: the round trip Mastodon does.

:func:`decide_binding` is the same decision as a pure function over JRDs
already fetched. :meth:`WebFingerClient.handle_for_actor` goes the other way
(actor document → handle) as Mastodon does when it meets a new actor.

Serving
-------
:func:`build_jrd` builds our own JRD; :func:`parse_resource` turns the
``resource`` parameter of a request into one of our local names, or a refusal.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from activitypub.domains import InvalidDomain, normalize_host_port, origin_of
from activitypub.errors import HTTPStatusError, InvalidDocument
from activitypub.http import SafeHttpClient, is_activity_json
from activitypub.jsonparse import InvalidJSON, parse_json
from activitypub.uris import Kind, LocalURIs

__all__ = [
    "JRD_ACCEPT",
    "JRD_CONTENT_TYPE",
    "PROFILE_PAGE_REL",
    "SUBSCRIBE_REL",
    "Handle",
    "HandleBinding",
    "InvalidHandle",
    "JrdLink",
    "LocalResource",
    "ResourceRefused",
    "WebFingerClient",
    "WebFingerResult",
    "build_jrd",
    "decide_binding",
    "lrdd_template",
    "parse_jrd",
    "parse_resource",
]

JRD_ACCEPT = "application/jrd+json, application/json"
JRD_CONTENT_TYPE = "application/jrd+json; charset=utf-8"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"
AS_TYPE_PROPERTY = "https://www.w3.org/ns/activitystreams#type"
_AP_TYPE = "application/activity+json"
_XRD_NS = "http://docs.oasis-open.org/ns/xri/xrd-1.0"
_HOST_META_ACCEPT = "application/xrd+xml, application/xml;q=0.9, application/json;q=0.8"
_HOST_META_MAX_BODY = 64 * 1024
_MAX_LINKS = 100
_USERNAME = re.compile(r"^[A-Za-z0-9_.~+-]{1,128}$")
# Characters kept as they are in the ``resource`` query value (RFC 3986 allows them there).
_RESOURCE_SAFE = ":@/"


class InvalidHandle(ValueError):
    """The text is not a ``user@host`` handle."""


@dataclass(frozen=True, slots=True)
class Handle:
    """``username@domain``; ``domain`` is normalized (lowercase, IDNA, ``:port`` kept)."""

    username: str
    domain: str

    @classmethod
    def parse(cls, text: str) -> Handle:
        """Parse ``acct:user@host``, ``user@host`` or ``@user@host``; raise InvalidHandle."""
        value = text.strip()
        if value[:5].lower() == "acct:":
            value = value[5:]
        elif value.startswith("@"):
            value = value[1:]
        username, at, domain = value.partition("@")
        if not at or "@" in domain:
            raise InvalidHandle(f"{text!r} is not a user@host handle")
        if not _USERNAME.match(username):
            raise InvalidHandle(f"{text!r} has an invalid user name")
        try:
            normalized = normalize_host_port(domain)
        except InvalidDomain as exc:
            raise InvalidHandle(f"{text!r} has an invalid host: {exc}") from None
        return cls(username, normalized)

    @property
    def acct(self) -> str:
        return f"acct:{self.username}@{self.domain}"

    def same_as(self, other: Handle) -> bool:
        """Case-insensitive comparison of user names (as Mastodon does); domains are normalized."""
        return self.username.casefold() == other.username.casefold() and (
            self.domain == other.domain
        )

    def __str__(self) -> str:
        return f"{self.username}@{self.domain}"


@dataclass(frozen=True, slots=True)
class JrdLink:
    rel: str
    type: str | None = None
    href: str | None = None
    template: str | None = None


@dataclass(frozen=True, slots=True)
class WebFingerResult:
    """A parsed JRD and the URL it was finally read from."""

    subject: str | None
    aliases: tuple[str, ...]
    links: tuple[JrdLink, ...]
    source_url: str

    @property
    def subject_handle(self) -> Handle | None:
        """The subject as a handle when it is an ``acct:`` URI."""
        if self.subject is None or self.subject[:5].lower() != "acct:":
            return None
        try:
            return Handle.parse(self.subject)
        except InvalidHandle:
            return None

    @property
    def actor_uri(self) -> str | None:
        """The ``self`` link typed as ActivityStreams (``application/activity+json`` or ld+json)."""
        for link in self.links:
            if link.rel == "self" and link.href and is_activity_json(link.type):
                return link.href
        return None

    @property
    def profile_page(self) -> str | None:
        return self._href(PROFILE_PAGE_REL)

    @property
    def subscribe_template(self) -> str | None:
        for link in self.links:
            if link.rel == SUBSCRIBE_REL and link.template:
                return link.template
        return None

    def _href(self, rel: str) -> str | None:
        for link in self.links:
            if link.rel == rel and link.href:
                return link.href
        return None


@dataclass(frozen=True, slots=True)
class HandleBinding:
    """The decision of the identity rule: ``reason`` is None when the handle is bound."""

    handle: Handle | None
    actor_id: str
    reason: str | None = None

    @property
    def bound(self) -> bool:
        return self.reason is None and self.handle is not None


# -- parsing -----------------------------------------------------------------


def _http_url(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        origin_of(value)
    except InvalidDomain:
        return None
    return value


def parse_jrd(document: object, url: str) -> WebFingerResult:
    """Read a JRD; ill-typed members are skipped, a non-object raises InvalidDocument."""
    if not isinstance(document, Mapping):
        raise InvalidDocument("WebFinger answer is not a JSON object", url=url)
    subject = document.get("subject")
    raw_aliases = document.get("aliases")
    aliases = (
        tuple(a for a in raw_aliases if isinstance(a, str)) if isinstance(raw_aliases, list) else ()
    )
    links: list[JrdLink] = []
    raw_links = document.get("links")
    for item in raw_links[:_MAX_LINKS] if isinstance(raw_links, list) else ():
        if not isinstance(item, Mapping) or not isinstance(item.get("rel"), str):
            continue
        kind = item.get("type")
        template = item.get("template")
        links.append(
            JrdLink(
                rel=item["rel"],
                type=kind if isinstance(kind, str) else None,
                href=_http_url(item.get("href")),
                template=template if isinstance(template, str) else None,
            )
        )
    return WebFingerResult(
        subject=subject if isinstance(subject, str) else None,
        aliases=aliases,
        links=tuple(links),
        source_url=url,
    )


class _RefusedXML(Exception):
    pass


def lrdd_template(body: bytes, url: str) -> str:
    """The ``lrdd`` template of a host-meta document (XRD or JSON); raise InvalidDocument.

    XML is read with expat and refused outright if it has a DOCTYPE (so no
    entity, internal or external, is ever expanded).
    """
    text = body.lstrip()
    if text.startswith(b"{"):
        try:
            data = parse_json(text)
        except InvalidJSON:
            raise InvalidDocument("host-meta JSON is invalid", url=url) from None
        links = data.get("links") if isinstance(data, dict) else None
        for link in links if isinstance(links, list) else ():
            if isinstance(link, dict) and link.get("rel") == "lrdd":
                template = link.get("template")
                if isinstance(template, str) and "{uri}" in template:
                    return template
        raise InvalidDocument("host-meta has no lrdd template", url=url)

    found: list[str] = []

    def refuse(*_args: object) -> None:
        raise _RefusedXML("DTDs and entities are not accepted")

    def refuse_external(*_args: object) -> int:
        raise _RefusedXML("external entities are not accepted")

    def start(name: str, attrs: dict[str, str]) -> None:
        if name in (f"{_XRD_NS} Link", "Link") and attrs.get("rel") == "lrdd":
            template = attrs.get("template")
            if template and "{uri}" in template:
                found.append(template)

    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse_external
    parser.StartElementHandler = start
    try:
        parser.Parse(body, True)
    except _RefusedXML as exc:
        raise InvalidDocument(f"host-meta refused: {exc}", url=url) from None
    except xml.parsers.expat.ExpatError as exc:
        raise InvalidDocument(f"host-meta is not well-formed XML: {exc}", url=url) from None
    if not found:
        raise InvalidDocument("host-meta has no lrdd template", url=url)
    return found[0]


# -- the identity rule ---------------------------------------------------------


def _host_of(url: str) -> str | None:
    """``host`` or ``host:port`` (port only when not the scheme's default), normalized."""
    try:
        origin = origin_of(url)
    except InvalidDomain:
        return None
    default = {"http": 80, "https": 443}[origin.scheme]
    return origin.host if origin.port == default else f"{origin.host}:{origin.port}"


def _check_jrd(jrd: WebFingerResult, handle: Handle, actor_id: str, where: str) -> str | None:
    subject = jrd.subject_handle
    if subject is None or not subject.same_as(handle):
        return f"WebFinger at {where} answers for {jrd.subject!r}, not {handle.acct!r}"
    if jrd.actor_uri != actor_id:
        return f"WebFinger at {where} points to {jrd.actor_uri!r}, not {actor_id!r}"
    return None


def decide_binding(
    handle: Handle,
    actor_id: str,
    preferred_username: str | None,
    handle_host_jrd: WebFingerResult,
    actor_host_jrd: WebFingerResult | None = None,
) -> HandleBinding:
    """Decide whether ``handle`` names the actor ``actor_id`` (see the module docstring).

    ``handle_host_jrd`` must be the answer of ``handle.domain`` to
    ``handle.acct``; ``actor_host_jrd`` the answer of the actor's host, needed
    only when the actor lives on another host. ``preferred_username``, when
    given, must equal the handle's user name (case-insensitively) if the
    actor lives on the handle's host.
    """

    def refuse(reason: str) -> HandleBinding:
        return HandleBinding(handle=handle, actor_id=actor_id, reason=reason)

    actor_host = _host_of(actor_id)
    if actor_host is None:
        return refuse(f"actor id {actor_id!r} is not an http(s) URL")
    problem = _check_jrd(handle_host_jrd, handle, actor_id, handle.domain)
    if problem:
        return refuse(problem)
    if actor_host == handle.domain:
        if preferred_username is not None and (
            preferred_username.casefold() != handle.username.casefold()
        ):
            return refuse(
                f"preferredUsername {preferred_username!r} differs from {handle.username!r}"
            )
        return HandleBinding(handle=handle, actor_id=actor_id)
    if actor_host_jrd is None:
        return refuse(f"actor is on {actor_host}; its WebFinger was not consulted")
    problem = _check_jrd(actor_host_jrd, handle, actor_id, actor_host)
    if problem:
        return refuse(problem)
    return HandleBinding(handle=handle, actor_id=actor_id)


# -- the client ----------------------------------------------------------------


class WebFingerClient:
    """WebFinger lookups through the shared safe client.

    ``scheme`` is ``https`` in production; tests and private federations
    without TLS may use ``http``.
    """

    def __init__(self, http: SafeHttpClient, *, scheme: Literal["https", "http"] = "https") -> None:
        self.http = http
        self.scheme = scheme

    def webfinger_url(self, domain: str, resource: str) -> str:
        return (
            f"{self.scheme}://{domain}/.well-known/webfinger"
            f"?resource={quote(resource, safe=_RESOURCE_SAFE)}"
        )

    async def lookup(self, resource: str, domain: str) -> WebFingerResult:
        """Ask ``domain`` about ``resource``; falls back to host-meta's lrdd on a 404."""
        url = self.webfinger_url(domain, resource)
        try:
            document = await self.http.get_json(url, accept=JRD_ACCEPT)
        except HTTPStatusError as exc:
            if exc.status != 404:
                raise
            return await self._lookup_via_host_meta(resource, domain, exc)
        return parse_jrd(document, url)

    async def lookup_handle(self, handle: Handle) -> WebFingerResult:
        """WebFinger of ``handle.acct`` at the handle's own host."""
        return await self.lookup(handle.acct, handle.domain)

    async def lookup_url(self, url: str) -> WebFingerResult:
        """WebFinger of an http(s) URL (e.g. a profile page) at that URL's host."""
        host = _host_of(url)
        if host is None:
            raise InvalidDocument("WebFinger resource is not an http(s) URL", url=url)
        return await self.lookup(url, host)

    async def _lookup_via_host_meta(
        self, resource: str, domain: str, original: HTTPStatusError
    ) -> WebFingerResult:
        host_meta_url = f"{self.scheme}://{domain}/.well-known/host-meta"
        response = await self.http.request(
            "GET",
            host_meta_url,
            headers={"Accept": _HOST_META_ACCEPT},
            max_body=_HOST_META_MAX_BODY,
        )
        if not response.is_success:
            # No host-meta either: report the WebFinger 404.
            raise original
        template = lrdd_template(response.body, response.final_url)
        url = template.replace("{uri}", quote(resource, safe=""))
        document = await self.http.get_json(url, accept=JRD_ACCEPT)
        return parse_jrd(document, url)

    async def bind_handle(
        self,
        handle: Handle,
        actor_id: str,
        preferred_username: str | None,
        *,
        handle_host_jrd: WebFingerResult | None = None,
    ) -> HandleBinding:
        """Apply the identity rule, fetching what is needed.

        ``handle_host_jrd`` saves a request when the caller has just looked the
        handle up. Transport failures raise FetchError (retry later); identity
        failures return an unbound :class:`HandleBinding` with a reason.
        """
        if handle_host_jrd is None:
            handle_host_jrd = await self.lookup_handle(handle)
        actor_host = _host_of(actor_id)
        if (
            actor_host is None
            or actor_host == handle.domain
            or _check_jrd(handle_host_jrd, handle, actor_id, handle.domain)
        ):
            # Decided without asking the actor's host.
            return decide_binding(handle, actor_id, preferred_username, handle_host_jrd)
        actor_host_jrd = await self._ask_actor_host(actor_id, actor_host, preferred_username)
        return decide_binding(handle, actor_id, preferred_username, handle_host_jrd, actor_host_jrd)

    async def handle_for_actor(
        self, actor_id: str, preferred_username: str | None
    ) -> HandleBinding:
        """Find and verify the handle of an actor met through federation (Mastodon's way).

        Ask the actor's host about ``acct:preferredUsername@actorhost`` (or the
        actor id itself when there is no preferredUsername); the subject it
        answers with is the candidate handle, which must then pass
        :meth:`bind_handle`.
        """
        actor_host = _host_of(actor_id)
        if actor_host is None:
            return HandleBinding(None, actor_id, f"actor id {actor_id!r} is not an http(s) URL")
        actor_host_jrd = await self._ask_actor_host(actor_id, actor_host, preferred_username)
        candidate = actor_host_jrd.subject_handle
        if candidate is None:
            return HandleBinding(
                None, actor_id, f"WebFinger at {actor_host} gives no acct: subject"
            )
        if actor_host_jrd.actor_uri != actor_id:
            return HandleBinding(
                candidate, actor_id, f"WebFinger at {actor_host} does not point to {actor_id!r}"
            )
        if candidate.domain == actor_host:
            return decide_binding(candidate, actor_id, preferred_username, actor_host_jrd)
        handle_host_jrd = await self.lookup_handle(candidate)
        return decide_binding(
            candidate, actor_id, preferred_username, handle_host_jrd, actor_host_jrd
        )

    async def _ask_actor_host(
        self, actor_id: str, actor_host: str, preferred_username: str | None
    ) -> WebFingerResult:
        if preferred_username and _USERNAME.match(preferred_username):
            return await self.lookup(f"acct:{preferred_username}@{actor_host}", actor_host)
        return await self.lookup(actor_id, actor_host)


# -- serving -----------------------------------------------------------------


def build_jrd(
    subject: str,
    aliases: Sequence[str],
    actor_uri: str,
    profile_url: str | None,
    actor_type: str,
    *,
    subscribe_template: str | None = None,
) -> dict[str, Any]:
    """Our JRD: a typed ``self`` link (with the actor type, as Lemmy adds), profile page, subscribe.

    ``subscribe_template`` is the OStatus remote-follow URL template, e.g.
    ``https://uni-a.edu/authorize_interaction?uri={uri}``.
    """
    links: list[dict[str, Any]] = [
        {
            "rel": "self",
            "type": _AP_TYPE,
            "href": actor_uri,
            "properties": {AS_TYPE_PROPERTY: actor_type},
        }
    ]
    if profile_url is not None:
        links.append({"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile_url})
    if subscribe_template is not None:
        links.append({"rel": SUBSCRIBE_REL, "template": subscribe_template})
    return {"subject": subject, "aliases": list(dict.fromkeys(aliases)), "links": links}


@dataclass(frozen=True, slots=True)
class LocalResource:
    """A WebFinger resource that names one of our actors.

    ``kind`` is None for ``acct:`` resources (users and communities share one
    namespace, so the caller looks the name up), else USER, COMMUNITY or
    INSTANCE_ACTOR; ``name`` is None for the instance actor's URL.
    """

    name: str | None
    kind: Kind | None


@dataclass(frozen=True, slots=True)
class ResourceRefused:
    reason: str


_LOCAL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ACTOR_KINDS = frozenset({Kind.USER, Kind.COMMUNITY, Kind.INSTANCE_ACTOR})


def parse_resource(
    resource: str, our_domain: str, *, scheme: str = "https"
) -> LocalResource | ResourceRefused:
    """Parse a WebFinger ``resource`` asked of us: ``acct:name@domain``, ``name@domain``,
    ``@name@domain`` or one of our actor URLs."""
    text = resource.strip()
    if not text:
        return ResourceRefused("empty resource")
    try:
        domain = normalize_host_port(our_domain)
    except InvalidDomain:
        return ResourceRefused("our domain is not valid")
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        parsed = LocalURIs(scheme, domain).parse(text)
        if parsed is None or parsed.kind not in _ACTOR_KINDS:
            return ResourceRefused("not one of our actor URLs")
        name = parsed.params.get("name")
        return LocalResource(name=name, kind=parsed.kind)
    try:
        handle = Handle.parse(text)
    except InvalidHandle as exc:
        return ResourceRefused(str(exc))
    if handle.domain != domain:
        return ResourceRefused(f"{handle.domain!r} is not our domain")
    if not _LOCAL_NAME.match(handle.username):
        return ResourceRefused("invalid name")
    return LocalResource(name=handle.username, kind=None)
