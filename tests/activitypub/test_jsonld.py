"""Tests for activitypub.jsonld: bundled contexts, no network, the fast path."""

from __future__ import annotations

import socket
import urllib.request
from typing import Any

import pytest

from activitypub import jsonld
from activitypub.jsonld import ContextNotAvailable, JsonLdError

AS = jsonld.AS_CONTEXT


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every network attempt fail loudly and record it."""
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args[:1]))
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    try:
        import requests

        monkeypatch.setattr(requests.Session, "request", refuse)
    except ImportError:  # pragma: no cover
        pass
    return attempts


@pytest.mark.parametrize("url", sorted(jsonld.BUNDLED_CONTEXTS))
def test_every_bundled_context_loads(url: str, no_network: list[str]) -> None:
    remote = jsonld.document_loader(url)
    assert remote["documentUrl"] == url
    assert "@context" in remote["document"]
    # each one is usable by pyld offline
    jsonld.expand({"@context": url, "@id": "https://a.example/x"})
    assert no_network == []


@pytest.mark.parametrize(
    "url",
    [
        "http://www.w3.org/ns/activitystreams",
        "https://www.w3.org/ns/activitystreams#",
        "https://joinmastodon.org/ns",
        "http://joinmastodon.org/ns#",
        "https://akkoma.example/schemas/litepub-0.1.jsonld",
    ],
)
def test_alternative_spellings(url: str) -> None:
    assert "@context" in jsonld.document_loader(url)["document"]


def test_unknown_context_raises_without_fetching(no_network: list[str]) -> None:
    doc = {"@context": [AS, "https://evil.example/ctx.jsonld"], "type": "Note", "id": "https://a/1"}
    with pytest.raises(ContextNotAvailable) as info:
        jsonld.expand(doc)
    assert info.value.url == "https://evil.example/ctx.jsonld"
    with pytest.raises(ContextNotAvailable):
        jsonld.to_plain_json(doc)
    with pytest.raises(ContextNotAvailable):
        jsonld.normalize(doc)
    with pytest.raises(ContextNotAvailable):
        jsonld.document_loader("https://evil.example/ctx.jsonld")
    assert no_network == []


def test_nested_unknown_context_raises(no_network: list[str]) -> None:
    doc = {
        "@context": [AS, {"x": {"@id": "https://x/x", "@context": "https://evil.example/c"}}],
        "x": {"y": 1},
    }
    with pytest.raises(ContextNotAvailable):
        jsonld.expand(doc)
    assert no_network == []


def test_loader_is_not_installed_globally() -> None:
    from pyld import jsonld as pyld

    assert pyld.get_document_loader() is not jsonld.document_loader


def test_fast_path_mastodon_inline_terms() -> None:
    doc = {
        "@context": [
            AS,
            {
                "sensitive": "as:sensitive",
                "toot": "http://joinmastodon.org/ns#",
                "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
            },
        ],
        "type": "Note",
    }
    assert jsonld.is_plain_json(doc)
    assert jsonld.to_plain_json(doc) == doc


@pytest.mark.parametrize(
    "context",
    [
        [AS, {"content": "https://evil.example/ns#content"}],
        [AS, {"to": {"@id": "as:cc", "@type": "@id"}}],
        [AS, {"@vocab": "https://evil.example/"}],
        [AS, {"Foo": {"@id": "https://x/Foo", "@context": {"actor": "https://x/a"}}}],
        [AS, {"publicKey": "https://evil.example/key"}],
        [AS, {"ident": "@id"}],
        [AS, {"kind": {"@id": "@type"}}],
        [AS, None],
        [AS, "https://unknown.example/ctx"],
        [AS, 5],
    ],
)
def test_redefinitions_leave_the_fast_path(context: Any) -> None:
    assert not jsonld.is_plain_json({"@context": context, "type": "Note"})


def test_nested_context_leaves_the_fast_path() -> None:
    doc = {
        "@context": AS,
        "type": "Create",
        "object": {"@context": {"content": "https://x/c"}, "type": "Note"},
    }
    assert not jsonld.is_plain_json(doc)


def test_redefined_terms_are_compacted_to_our_context() -> None:
    doc = {
        "@context": [
            AS,
            {
                "body": "as:content",
                "author": {"@id": "as:attributedTo", "@type": "@id"},
                "sensitive": "as:sensitive",
                "content": "https://x.example/ns#raw",
            },
        ],
        "id": "https://a.example/1",
        "type": "Note",
        "body": "hello",
        "content": "<script>not AS content</script>",
        "author": "https://a.example/u",
        "sensitive": True,
    }
    plain = jsonld.to_plain_json(doc)
    assert plain["content"] == "hello"
    assert plain["attributedTo"] == "https://a.example/u"
    assert plain["sensitive"] is True
    assert plain["https://x.example/ns#raw"] == "<script>not AS content</script>"
    assert plain["@context"] == list(jsonld.DEFAULT_CONTEXT)


def test_compact_lemmy_document_offline(no_network: list[str]) -> None:
    doc = {
        "@context": [AS, "https://join-lemmy.org/context.json"],
        "id": "https://l/c/x",
        "type": "Group",
        "postingRestrictedToMods": True,
        "moderators": "https://l/c/x/moderators",
    }
    out = jsonld.compact(doc)
    assert out["postingRestrictedToMods"] is True
    assert out["moderators"] == "https://l/c/x/moderators"
    assert no_network == []


def test_normalize_is_deterministic() -> None:
    a = {
        "@context": [AS, jsonld.SECURITY_V1_CONTEXT],
        "id": "https://a/1",
        "type": "Note",
        "content": "x",
        "to": ["https://b", "https://c"],
    }
    b = dict(reversed(list(a.items())))
    assert jsonld.normalize(a) == jsonld.normalize(b)
    assert "<https://www.w3.org/ns/activitystreams#content>" in jsonld.normalize(a)


def test_data_integrity_context_expands() -> None:
    doc = {
        "@context": [AS, "https://w3id.org/security/data-integrity/v1"],
        "id": "https://a/1",
        "type": "Note",
        "proof": {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-jcs-2022",
            "proofPurpose": "assertionMethod",
            "proofValue": "z3abc",
            "verificationMethod": "https://a/u#ed25519-key",
            "created": "2024-01-01T00:00:00Z",
        },
    }
    expanded = jsonld.expand(doc)
    assert "https://w3id.org/security#proof" in expanded[0]


def test_invalid_documents_raise_our_error() -> None:
    with pytest.raises(JsonLdError):
        jsonld.to_plain_json([1])  # type: ignore[arg-type]
    with pytest.raises(JsonLdError):
        jsonld.expand({"@context": {"@version": 2}, "a": 1})
