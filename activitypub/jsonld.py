"""JSON-LD with bundled contexts only.

Every context document this server understands ships in ``activitypub/contexts``;
a context URL that is not bundled is never fetched: the document loader raises
:class:`ContextNotAvailable` instead.

Most fediverse documents use the ActivityStreams context (often with the
security context and an inline map of extension terms such as Mastodon's
``toot:`` terms).  Such documents mean exactly what their keys say, so they are
read as plain JSON (:func:`is_plain_json`).  pyld runs only for documents that
define terms differently (:func:`to_plain_json` compacts them to
:data:`DEFAULT_CONTEXT`) and for callers that need expansion or URDNA2015
normalisation (Linked Data signatures); the offline loader is passed to pyld on
every call, never installed globally.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
from collections.abc import Mapping
from typing import Any, Final

import orjson
from pyld import jsonld as _pyld

__all__ = [
    "AS_CONTEXT",
    "AS_NS",
    "BUNDLED_CONTEXTS",
    "DEFAULT_CONTEXT",
    "SECURITY_V1_CONTEXT",
    "ContextNotAvailable",
    "JsonLdError",
    "compact",
    "document_loader",
    "expand",
    "is_plain_json",
    "normalize",
    "to_plain_json",
]

AS_CONTEXT: Final = "https://www.w3.org/ns/activitystreams"
AS_NS: Final = "https://www.w3.org/ns/activitystreams#"
SECURITY_V1_CONTEXT: Final = "https://w3id.org/security/v1"

# URL -> file in activitypub/contexts.  Alternative spellings seen in the wild
# (http scheme, trailing "#" or "/") are mapped to the same documents.
BUNDLED_CONTEXTS: Final[Mapping[str, str]] = {
    AS_CONTEXT: "activitystreams.json",
    SECURITY_V1_CONTEXT: "security-v1.json",
    "https://w3id.org/security/data-integrity/v1": "security-data-integrity-v1.json",
    "https://w3id.org/security/data-integrity/v2": "security-data-integrity-v2.json",
    "https://w3id.org/security/multikey/v1": "security-multikey-v1.json",
    "https://join-lemmy.org/context.json": "join-lemmy.json",
    "http://joinmastodon.org/ns": "joinmastodon.json",
    "https://gotosocial.org/ns": "gotosocial.json",
    "https://purl.archive.org/socialweb/webfinger": "webfinger.json",
}

# Pleroma and Akkoma reference a copy of the same LitePub context on every
# instance (https://<instance>/schemas/litepub-0.1.jsonld).
_LITEPUB_SUFFIX: Final = "/schemas/litepub-0.1.jsonld"
_LITEPUB_FILE: Final = "litepub-0.1.json"

# Our own outgoing context: ActivityStreams, security v1 (publicKey), and the
# extension terms Mastodon, Lemmy and PieFed use, with their IRIs.
DEFAULT_CONTEXT: Final[tuple[Any, ...]] = (
    AS_CONTEXT,
    SECURITY_V1_CONTEXT,
    {
        "toot": "http://joinmastodon.org/ns#",
        "lemmy": "https://join-lemmy.org/ns#",
        "litepub": "http://litepub.social/ns#",
        "schema": "http://schema.org/",
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "sensitive": "as:sensitive",
        "Hashtag": "as:Hashtag",
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
        "Emoji": "toot:Emoji",
        "blurhash": "toot:blurhash",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
        "votersCount": "toot:votersCount",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "postingRestrictedToMods": "lemmy:postingRestrictedToMods",
        "moderators": {"@type": "@id", "@id": "lemmy:moderators"},
        "stickied": "lemmy:stickied",
        "removeData": "lemmy:removeData",
        "distinguished": "lemmy:distinguished",
        "ChatMessage": "litepub:ChatMessage",
        "directMessage": "litepub:directMessage",
    },
)


class JsonLdError(ValueError):
    """A document could not be processed as JSON-LD."""


class ContextNotAvailable(JsonLdError):
    """A document references a context that is not bundled (and is never fetched)."""

    def __init__(self, url: str) -> None:
        super().__init__(f"JSON-LD context not available offline: {url[:200]!r}")
        self.url = url


def _normalise_url(url: str) -> str:
    if url.startswith("http://") and not url.startswith("http://joinmastodon.org/"):
        url = "https://" + url[len("http://") :]
    if url.startswith("https://joinmastodon.org/"):
        url = "http://" + url[len("https://") :]
    return url.rstrip("#/") if url.endswith(("#", "/")) else url


def _bundled_file(url: object) -> str | None:
    if not isinstance(url, str):
        return None
    name = BUNDLED_CONTEXTS.get(_normalise_url(url))
    if name is None and url.startswith("https://") and url.endswith(_LITEPUB_SUFFIX):
        name = _LITEPUB_FILE
    return name


@functools.cache
def _read_bundled(name: str) -> Any:
    data = importlib.resources.files("activitypub").joinpath("contexts", name).read_bytes()
    return orjson.loads(data)


def load_context_document(url: str) -> dict[str, Any]:
    """Return a deep copy of the bundled context document for ``url``."""
    name = _bundled_file(url)
    if name is None:
        raise ContextNotAvailable(url)
    document = copy.deepcopy(_read_bundled(name))
    assert isinstance(document, dict)
    return document


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader that serves bundled contexts and nothing else."""
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": load_context_document(url),
    }


def _options(**extra: Any) -> dict[str, Any]:
    return {"documentLoader": document_loader, **extra}


def _translate(exc: BaseException) -> JsonLdError:
    """Find our own error in a pyld error chain, or wrap the failure."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, JsonLdError):
            return current
        details = getattr(current, "details", None)
        if isinstance(details, Mapping):
            cause = details.get("cause")
            if isinstance(cause, BaseException):
                todo.append(cause)
        todo.append(getattr(current, "cause", None))
        todo.append(current.__cause__)
        todo.append(current.__context__)
    return JsonLdError(f"JSON-LD processing failed: {type(exc).__name__}")


def expand(document: Mapping[str, Any] | list[Any]) -> list[Any]:
    """Expand a document using the bundled contexts only."""
    try:
        result = _pyld.expand(copy.deepcopy(document), _options())
    except Exception as exc:
        raise _translate(exc) from exc
    if not isinstance(result, list):
        raise JsonLdError("unexpected expansion result")
    return result


def compact(
    document: Mapping[str, Any] | list[Any], context: Any = DEFAULT_CONTEXT
) -> dict[str, Any]:
    """Compact a document to ``context`` (our :data:`DEFAULT_CONTEXT` by default)."""
    ctx = list(context) if isinstance(context, tuple) else context
    try:
        result = _pyld.compact(copy.deepcopy(document), {"@context": ctx}, _options())
    except Exception as exc:
        raise _translate(exc) from exc
    if not isinstance(result, dict):
        raise JsonLdError("unexpected compaction result")
    return result


def normalize(document: Mapping[str, Any]) -> str:
    """URDNA2015 canonical N-Quads, as Linked Data signatures hash them."""
    try:
        result = _pyld.normalize(
            copy.deepcopy(document),
            _options(algorithm="URDNA2015", format="application/n-quads"),
        )
    except Exception as exc:
        raise _translate(exc) from exc
    if not isinstance(result, str):
        raise JsonLdError("unexpected normalisation result")
    return result


# --- fast path ------------------------------------------------------------

_ALLOWED_KEYWORDS: Final = frozenset({"@version", "@protected", "@language", "@direction"})


def _expand_iri(value: str, prefixes: Mapping[str, str]) -> str:
    prefix, sep, rest = value.partition(":")
    if sep and not rest.startswith("//") and prefix in prefixes:
        return prefixes[prefix] + rest
    return value


def _signature(definition: Any, prefixes: Mapping[str, str]) -> tuple[Any, ...] | None:
    """(iri, type, container) of a term definition, or None if it is not simple."""
    if isinstance(definition, str):
        return (_expand_iri(definition, prefixes), None, None)
    if isinstance(definition, Mapping):
        if set(definition) - {"@id", "@type", "@container"}:
            return None
        iri = definition.get("@id")
        kind = definition.get("@type")
        container = definition.get("@container")
        if not isinstance(iri, str):
            return None
        if kind is not None and not isinstance(kind, str):
            return None
        if container is not None and not isinstance(container, str):
            return None
        return (
            _expand_iri(iri, prefixes),
            _expand_iri(kind, prefixes) if kind else None,
            container,
        )
    return None


# Security v1 terms the plain reading relies on (the actor's key).
_SECURITY_TERMS_READ: Final = frozenset({"publicKey", "publicKeyPem", "owner"})


@functools.cache
def _protected_terms() -> Mapping[str, tuple[Any, ...]]:
    """Terms whose meaning the plain-JSON reading relies on."""
    terms: dict[str, tuple[Any, ...]] = {}
    for url in (AS_CONTEXT, SECURITY_V1_CONTEXT):
        ctx = _read_bundled(BUNDLED_CONTEXTS[url])["@context"]
        prefixes = {k: v for k, v in ctx.items() if isinstance(v, str) and v.endswith(("#", "/"))}
        prefixes.setdefault("as", AS_NS)
        for term, definition in ctx.items():
            if term.startswith("@"):
                continue
            if url == SECURITY_V1_CONTEXT and term not in _SECURITY_TERMS_READ:
                continue
            sig = _signature(definition, prefixes)
            if sig is not None:
                terms.setdefault(term, sig)
    return terms


_KNOWN_PREFIXES: Final[Mapping[str, str]] = {
    "as": AS_NS,
    "sec": "https://w3id.org/security#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "ldp": "http://www.w3.org/ns/ldp#",
}


def _is_keyword_alias(definition: object) -> bool:
    if isinstance(definition, Mapping):
        definition = definition.get("@id")
    return isinstance(definition, str) and definition.startswith("@")


def _inline_context_is_plain(ctx: Mapping[Any, Any], depth: int) -> bool:
    protected = _protected_terms()
    prefixes = dict(_KNOWN_PREFIXES)
    prefixes.update(
        {k: v for k, v in ctx.items() if isinstance(k, str) and isinstance(v, str) and ":" in v}
    )
    for term, definition in ctx.items():
        if not isinstance(term, str):
            return False
        if term.startswith("@"):
            if term not in _ALLOWED_KEYWORDS:
                return False
            continue
        if isinstance(definition, Mapping) and "@context" in definition:
            if term in protected or not _context_is_plain(definition["@context"], depth + 1):
                return False
            continue
        # Other terms only add vocabulary the plain reading does not rely on,
        # unless they alias a keyword (e.g. a second spelling of "@id").
        if term in protected:
            if _signature(definition, prefixes) != protected[term]:
                return False
        elif _is_keyword_alias(definition):
            return False
    return True


@functools.cache
def _bundled_is_plain(name: str) -> bool:
    if name == BUNDLED_CONTEXTS[AS_CONTEXT] or name == BUNDLED_CONTEXTS[SECURITY_V1_CONTEXT]:
        return True
    return _context_is_plain(_read_bundled(name).get("@context"), 1)


def _context_is_plain(ctx: Any, depth: int = 0) -> bool:
    if depth > 8:
        return False
    if ctx is None:
        return True
    items = ctx if isinstance(ctx, list) else [ctx]
    for item in items:
        if isinstance(item, str):
            name = _bundled_file(item)
            if name is None or not _bundled_is_plain(name):
                return False
        elif isinstance(item, Mapping):
            if not _inline_context_is_plain(item, depth):
                return False
        else:
            return False
    return True


def _nested_contexts_plain(value: Any, depth: int) -> bool:
    if depth > 64:
        return False
    if isinstance(value, Mapping):
        if "@context" in value and depth > 0 and not _context_is_plain(value["@context"]):
            return False
        return all(
            _nested_contexts_plain(v, depth + 1) for k, v in value.items() if k != "@context"
        )
    if isinstance(value, list):
        return all(_nested_contexts_plain(v, depth + 1) for v in value)
    return True


def is_plain_json(document: object) -> bool:
    """True if the document's keys mean what ActivityStreams says they mean.

    That holds when every context it uses is a bundled context that does not
    redefine ActivityStreams or security terms (the ActivityStreams and security
    v1 contexts, Lemmy's, LitePub's, Mastodon's and GoToSocial's term sets) or an
    inline term map that only adds terms.  A document without ``@context`` is
    read as ActivityStreams.
    """
    if not isinstance(document, Mapping):
        return False
    try:
        return _context_is_plain(document.get("@context")) and _nested_contexts_plain(document, 0)
    except (RecursionError, TypeError, ValueError):
        return False


def to_plain_json(document: Mapping[str, Any]) -> dict[str, Any]:
    """Return the document in our vocabulary.

    Fast path: a document for which :func:`is_plain_json` holds is returned as is
    (a shallow copy).  Otherwise it is compacted to :data:`DEFAULT_CONTEXT` with
    pyld; a context that is not bundled raises :class:`ContextNotAvailable`.
    """
    if not isinstance(document, Mapping):
        raise JsonLdError("a JSON-LD document must be a JSON object")
    if is_plain_json(document):
        return dict(document)
    return compact(document)
