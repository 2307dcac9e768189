"""Arbitrary remote input raises nothing but the package's own errors.

Every public entry point that reads remote input is fed arbitrary JSON values,
text (lone surrogates included) or bytes; the test fails on any exception
outside the set the function documents. Accessors of the views must not raise
at all.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable
from typing import Any

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from activitypub import actors, domains, html, jsonld, jsonparse, nodeinfo, origins, uris, vocab
from activitypub import webfinger as wf
from activitypub.errors import FetchError
from activitypub.keys import InvalidKey
from activitypub.signatures import ParsedSignature, VerificationResult, parse_signature

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Text in every category, lone surrogates included (a lenient JSON decoder produces them).
TEXT = st.text(st.characters(blacklist_categories=()), max_size=40)
URLS = st.sampled_from(
    [
        "https://victim.example/users/v",
        "https://victim.example/users/v#main-key",
        "http://[::1]:8080/x",
        "https://evil.example/notes/1",
        "https://[bad/x",
        "https://a.example:99999/",
        "javascript:alert(1)",
        "acct:alice@victim.example",
        "https://b\u00fccher.example/",
        "",
    ]
)
KEYS = TEXT | st.sampled_from(
    [
        "@context", "id", "type", "actor", "object", "target", "attributedTo", "url", "href",
        "to", "cc", "tag", "attachment", "content", "contentMap", "name", "summary",
        "published", "updated", "inbox", "outbox", "followers", "endpoints", "sharedInbox",
        "publicKey", "publicKeyPem", "publicKeyMultibase", "owner", "controller",
        "assertionMethod", "preferredUsername", "icon", "image", "oneOf", "anyOf", "mediaType",
        "subject", "aliases", "links", "rel", "template", "software", "version", "protocols",
        "usage", "users", "metadata", "openRegistrations", "@id", "@type", "@vocab",
    ]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
    | URLS
    | st.sampled_from(["Person", "Note", "Update", "Delete", "Undo", "Group", "Tombstone"])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=15,
)
OBJECTS = st.dictionaries(KEYS, JSON, max_size=8)


def only(allowed: tuple[type[BaseException], ...], call: Callable[[], object]) -> None:
    """Run ``call``; an exception outside ``allowed`` fails the test (with its type)."""
    with contextlib.suppress(*allowed):
        call()


# -- JSON, JSON-LD, HTML -------------------------------------------------------------------


@SETTINGS
@given(st.binary(max_size=300) | TEXT)
def test_parse_json_raises_only_invalid_json(data: bytes | str) -> None:
    only((jsonparse.InvalidJSON,), lambda: jsonparse.parse_json(data))


@SETTINGS
@given(JSON)
def test_parse_json_round_trips_what_it_accepts(value: Any) -> None:
    try:
        data = orjson.dumps(value)
    except TypeError:  # surrogates, huge integers: not JSON
        return
    only((jsonparse.JSONTooDeep,), lambda: jsonparse.parse_json(data))


def _read_every_accessor(view: vocab.ASObject) -> None:
    for name in dir(view):
        if name.startswith("_") or name in ("data", "from_json"):
            continue
        member = getattr(view, name)
        if name.startswith("require_"):
            only((vocab.InvalidActivity,), member)
        elif name == "get":
            member("id")
        elif name == "has_type":
            member("Note", "Person")


@SETTINGS
@given(JSON)
def test_asobject_and_its_accessors(value: Any) -> None:
    try:
        view = vocab.ASObject.from_json(value)
    except vocab.InvalidActivity:
        assert not isinstance(value, dict)
        return
    _read_every_accessor(view)
    for name in ("object", "target", "origin"):
        embedded = getattr(view, name)
        if embedded is not None:
            _read_every_accessor(embedded)
    for item in vocab.iter_objects(value):
        _read_every_accessor(item)


CONTEXTS = st.sampled_from(
    [
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        "https://join-lemmy.org/context.json",
        "https://evil.example/ctx.jsonld",
        {"@vocab": "https://v.example/"},
        {"ident": "@id"},
        {"Note": "https://x.example/Note"},
        {"toot": "http://joinmastodon.org/ns#", "x": "toot:x"},
        {"c": {"@id": "https://c.example/", "@context": {"@vocab": "https://v.example/"}}},
        {"type": {"@id": "@type", "@container": "@set"}},
        {"@language": 5},
        None,
        5,
    ]
)
JSONLD = st.builds(
    lambda doc, ctx: {**doc, "@context": ctx},
    OBJECTS,
    CONTEXTS | st.lists(CONTEXTS, max_size=3),
)


@settings(SETTINGS, max_examples=100)
@given(JSONLD | OBJECTS)
def test_jsonld_raises_only_jsonld_errors(document: dict[str, Any]) -> None:
    assert isinstance(jsonld.is_plain_json(document), bool)
    only((jsonld.JsonLdError,), lambda: jsonld.to_plain_json(document))


@SETTINGS
@given(JSON)
def test_is_plain_json_never_raises(value: Any) -> None:
    assert isinstance(jsonld.is_plain_json(value), bool)


HTML = TEXT | st.text(st.sampled_from(list("<>/=\"' &#;!-[]abiscriptmgvhref:x\ud800")), max_size=80)


@SETTINGS
@given(HTML | JSON)
@example("<p>a\ud800b</p>")  # a lone surrogate made nh3 raise UnicodeEncodeError
def test_html_functions_never_raise(fragment: Any) -> None:
    assert isinstance(html.sanitize_html(fragment), str)
    assert isinstance(html.html_to_text(fragment), str)


# -- signatures ------------------------------------------------------------------------------

B64 = st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode())
COMPONENTS = st.sampled_from(
    ['"@method"', '"@target-uri"', '"@authority"', '"host"', '"content-digest"', '"date"',
     '"@query-param";name="q"', '"X"', "tok", "1", '"@path"']
)  # fmt: skip
PARAMS = st.sampled_from(
    [";created=1700000000", ";created=-1", ";created=999999999999999", ";expires=1",
     ';keyid="https://a.example/k"', ";keyid=1", ';alg="ed25519"', ';alg="hmac-sha256"',
     ";created=1.5", ";created=?1", ";keyid=:YQ==:"]
)  # fmt: skip
SIGNATURE_INPUT = st.builds(
    lambda label, comps, params: f"{label}=({' '.join(comps)}){''.join(params)}",
    st.sampled_from(["sig1", "sig2", "A"]),
    st.lists(COMPONENTS, max_size=4),
    st.lists(PARAMS, max_size=4),
)
RFC9421 = st.fixed_dictionaries(
    {
        "Signature-Input": SIGNATURE_INPUT | TEXT,
        "Signature": st.builds(lambda b: f"sig1=:{b}:", B64) | TEXT,
    }
)
CAVAGE_PARAMS = st.sampled_from(
    ['keyId="https://a.example/k"', 'algorithm="rsa-sha256"', 'algorithm="hs2019"',
     'algorithm="x"', 'headers="(request-target) (created) host"', 'headers=""',
     'signature="YWJj"', 'signature="!!"', "created=99999999999999", "created=1.5",
     "expires=-1", 'keyId=""', "keyId"]
)  # fmt: skip
CAVAGE = st.lists(CAVAGE_PARAMS | TEXT, max_size=6).map(",".join)
HEADERS = (
    RFC9421
    | st.fixed_dictionaries({"Signature": CAVAGE})
    | st.fixed_dictionaries({"Authorization": CAVAGE.map("Signature ".__add__)})
    | st.dictionaries(st.sampled_from(["signature", "signature-input", "authorization"]), TEXT)
)


@SETTINGS
@given(HEADERS)
def test_parse_signature_never_raises(headers: dict[str, str]) -> None:
    result = parse_signature(headers)
    assert isinstance(result, ParsedSignature | VerificationResult)
    if isinstance(result, VerificationResult):
        assert not result.verified


# -- discovery -------------------------------------------------------------------------------


@SETTINGS
@given(JSON)
def test_parse_jrd_raises_only_invalid_document(value: Any) -> None:
    try:
        result = wf.parse_jrd(value, "https://victim.example/.well-known/webfinger")
    except FetchError:
        assert not isinstance(value, dict)
        return
    _ = (result.subject_handle, result.actor_uri, result.profile_page, result.subscribe_template)


@SETTINGS
@given(st.binary(max_size=200) | JSON.map(lambda v: repr(v).encode("utf-8", "surrogatepass")))
@example(b'{"links":' + b"[" * 100_000)  # stdlib json raised RecursionError
def test_lrdd_template_raises_only_invalid_document(body: bytes) -> None:
    only((FetchError,), lambda: wf.lrdd_template(body, "https://victim.example/"))


@SETTINGS
@given(TEXT | URLS | st.builds("acct:{}@{}".format, TEXT, TEXT))
def test_handles_and_resources(text: str) -> None:
    only((wf.InvalidHandle,), lambda: wf.Handle.parse(text))
    result = wf.parse_resource(text, "a.example")
    assert isinstance(result, wf.LocalResource | wf.ResourceRefused)
    assert isinstance(
        wf.parse_resource("acct:a@a.example", text), wf.LocalResource | wf.ResourceRefused
    )


@SETTINGS
@given(JSON)
def test_nodeinfo_raises_only_nodeinfo_error(value: Any) -> None:
    url = "https://victim.example/.well-known/nodeinfo"
    only((nodeinfo.NodeInfoError,), lambda: nodeinfo.parse_nodeinfo(value, url))
    only((nodeinfo.NodeInfoError,), lambda: nodeinfo.nodeinfo_url(value, url))
    only((nodeinfo.NodeInfoError,), lambda: nodeinfo.instance_actor_link(value, url))


# -- actors, keys, origins -------------------------------------------------------------------

ACTORS = st.builds(
    lambda extra, ident: {
        "id": ident,
        "type": "Person",
        "inbox": "https://victim.example/users/v/inbox",
        **extra,
    },
    OBJECTS,
    URLS,
)


@SETTINGS
@given(ACTORS | JSON)
def test_remote_actor_raises_only_invalid_actor(document: Any) -> None:
    only((actors.InvalidActor,), lambda: actors.RemoteActor.from_document(document))
    only(
        (actors.InvalidActor,),
        lambda: actors.RemoteActor.from_document(document, expected_id="https://victim.example/"),
    )


@settings(SETTINGS, max_examples=100)
@given(ACTORS | JSON, URLS | TEXT, JSON)
def test_actor_key_never_raises(document: Any, key_id: str, key_document: Any) -> None:
    result = actors.actor_key(document, key_id, key_document=key_document)
    assert isinstance(result, actors.ActorKey | actors.KeyRefusal)
    parsed = actors.parse_key_document(key_document, key_id)
    assert isinstance(parsed, actors.KeyDocument | actors.KeyRefusal)
    assert isinstance(actors.actor_keys(document) if isinstance(document, dict) else (), tuple)
    owner = actors.key_owner_uri(key_id)
    assert owner is None or isinstance(owner, str)


@SETTINGS
@given(TEXT | st.binary(max_size=60).map(lambda b: "z" + actors.base58btc_encode(b"\xed\x01" + b)))
def test_decode_multikey_raises_only_invalid_key(value: str) -> None:
    only((InvalidKey,), lambda: actors.decode_multikey(value))


@settings(SETTINGS, max_examples=100)
@given(ACTORS | JSON, JSON, URLS | st.none(), URLS | st.none())
def test_origin_checks_never_raise(
    obj: Any, other: Any, fetched_from: str | None, delivered_by: str | None
) -> None:
    result = origins.check_object_origin(
        obj, fetched_from=fetched_from, delivered_by_actor=delivered_by
    )
    assert isinstance(result, domains.Origin | origins.OriginRefusal)
    for refusal in (origins.check_authority(obj, other), origins.check_authority(obj)):
        assert refusal is None or isinstance(refusal, origins.OriginRefusal)
    url = origins.safe_url(obj)
    assert url is None or isinstance(url, str)
    owner = origins.object_owner(obj)
    assert owner is None or isinstance(owner, str)
    assert isinstance(origins.same_origin(fetched_from, delivered_by), bool)


# -- domains and local URIs ------------------------------------------------------------------


@SETTINGS
@given(TEXT | URLS | st.builds("https://{}/{}".format, TEXT, TEXT))
def test_domains_raise_only_invalid_domain(text: str) -> None:
    only((domains.InvalidDomain,), lambda: domains.normalize_domain(text))
    only((domains.InvalidDomain,), lambda: domains.normalize_host_port(text))
    only((domains.InvalidDomain,), lambda: domains.origin_of(text))


@SETTINGS
@given(TEXT | URLS | st.builds("https://a.example/{}#{}".format, TEXT, TEXT))
def test_local_uri_parse_never_raises(text: str) -> None:
    parsed = uris.LocalURIs("https", "a.example").parse(text)
    assert parsed is None or isinstance(parsed, uris.ParsedURI)
