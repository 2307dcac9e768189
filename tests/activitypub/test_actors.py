"""Key ownership (TC07, TC08, TC21), Multikey decoding and the validated actor view."""

from __future__ import annotations

import copy
import json
import pathlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from activitypub.actors import (
    MAX_FIELD_VALUE,
    MAX_FIELDS,
    ActorKey,
    InvalidActor,
    KeyDocument,
    KeyRefusal,
    RemoteActor,
    actor_key,
    actor_keys,
    base58btc_decode,
    base58btc_encode,
    decode_multikey,
    encode_multikey,
    key_owner_uri,
    parse_key_document,
    resolve_key_owner,
)
from activitypub.errors import BlockedAddress, InvalidDocument, RedirectRefused
from activitypub.http import SafeHttpClient
from activitypub.keys import (
    InvalidKey,
    generate_ed25519_keypair,
    generate_rsa_keypair,
    load_public_key_pem,
)

if TYPE_CHECKING:
    from tests.activitypub.conftest_discovery import Peers

pytest_plugins = ["tests.activitypub.conftest_discovery"]

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "discovery"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def raw(key: ed25519.Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# -- base58btc and Multikey -----------------------------------------------------------

FEP_521A_KEY = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
# The same key pair's secret (Data Integrity EdDSA examples): multicodec ed25519-priv 0x1300.
FEP_521A_SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"


def test_fep521a_example_key_decodes_to_the_secret_keys_public_half() -> None:
    key = decode_multikey(FEP_521A_KEY)
    assert isinstance(key, ed25519.Ed25519PublicKey)
    assert raw(key).hex() == "b00d8d938e7f773d51565aad36a623f5344f7f5d1960f9cf3e8e12620ea2810f"
    secret = base58btc_decode(FEP_521A_SECRET[1:])
    assert secret[:2] == b"\x80\x26"
    derived = ed25519.Ed25519PrivateKey.from_private_bytes(secret[2:]).public_key()
    assert raw(derived) == raw(key)
    assert encode_multikey(key) == FEP_521A_KEY


def test_did_key_vector_matches_its_base58_form() -> None:
    # did:key:z6MkmjY8… and its publicKeyBase58, as published together in DID test suites.
    key = decode_multikey("z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th")
    assert isinstance(key, ed25519.Ed25519PublicKey)
    assert raw(key) == base58btc_decode("8HH5gYEeNc3z7PYXmd54d4x6qAfCNrqQqEB3nS7Zfu7K")


def test_base58_round_trip_and_leading_zeros() -> None:
    for data in (b"", b"\x00", b"\x00\x00\x01", b"hello world", bytes(range(256))):
        assert base58btc_decode(base58btc_encode(data)) == data
    assert base58btc_encode(b"\x00\x00\x01") == "112"
    assert base58btc_encode(b"hello world") == "StV1DL6CwTryKyV"
    with pytest.raises(ValueError):
        base58btc_decode("0OIl")


def test_generated_keys_round_trip() -> None:
    for public_pem in (generate_ed25519_keypair()[1], generate_rsa_keypair()[1]):
        key = load_public_key_pem(public_pem)
        again = decode_multikey(encode_multikey(key))
        assert again.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ) == key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.mark.parametrize(
    "value",
    [
        "6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",  # no multibase prefix
        "u7QFBAgM",  # base64url multibase: not accepted
        "z" + base58btc_encode(b"\xed\x01" + bytes(31)),  # short Ed25519
        "z" + base58btc_encode(b"\xe7\x01" + bytes(33)),  # secp256k1: unsupported
        "z" + base58btc_encode(b"\x85\x24" + b"garbage"),  # not DER
        "z0OIl",
        "z" + "2" * 5000,
    ],
)
def test_bad_multikeys(value: str) -> None:
    with pytest.raises(InvalidKey):
        decode_multikey(value)


def test_short_rsa_multikey_is_refused() -> None:
    small = rsa.RSAPublicNumbers(65537, (1 << 511) | 0x1235).public_key()
    der = small.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    with pytest.raises(InvalidKey):
        decode_multikey("z" + base58btc_encode(b"\x85\x24" + der))


# -- key ownership ---------------------------------------------------------------------

REAL_KEYS = [
    ("actor_mastodon.json", "https://mastodon.example/users/alice#main-key"),
    ("actor_gotosocial.json", "https://gts.example/users/tobi/main-key"),
    ("actor_misskey.json", "https://misskey.example/users/9a1b2c3d4e#main-key"),
    ("actor_lemmy_group.json", "https://lemmy.example/c/technology#main-key"),
    ("actor_fep521a.json", "https://server.example/users/alice#main-key"),
    ("actor_fep521a.json", "https://server.example/users/alice#ed25519-key"),
]


@pytest.mark.parametrize(("name", "key_id"), REAL_KEYS)
def test_real_actor_keys(name: str, key_id: str) -> None:
    doc = load(name)
    found = actor_key(doc, key_id, expected_actor_id=doc["id"])
    assert isinstance(found, ActorKey)
    assert found.key_id == key_id
    assert found.owner == doc["id"]


def test_multikey_entry_gives_the_ed25519_key() -> None:
    found = actor_key(load("actor_fep521a.json"), "https://server.example/users/alice#ed25519-key")
    assert isinstance(found, ActorKey)
    assert isinstance(found.public_key, ed25519.Ed25519PublicKey)
    assert encode_multikey(found.public_key) == FEP_521A_KEY


def test_all_keys_of_an_actor() -> None:
    keys = actor_keys(load("actor_fep521a.json"))
    assert [k.key_id for k in keys] == [
        "https://server.example/users/alice#main-key",
        "https://server.example/users/alice#ed25519-key",
    ]


def test_public_key_as_a_list() -> None:
    doc = load("actor_mastodon.json")
    second = {**doc["publicKey"], "id": doc["id"] + "#second"}
    doc["publicKey"] = [doc["publicKey"], second]
    assert isinstance(actor_key(doc, doc["id"] + "#second"), ActorKey)


def test_public_key_as_an_id_needs_the_key_document() -> None:
    doc = load("actor_gotosocial.json")
    key = doc["publicKey"]
    doc["publicKey"] = key["id"]
    assert isinstance(actor_key(doc, key["id"]), KeyRefusal)
    bare_key = {"id": key["id"], "owner": doc["id"], "publicKeyPem": key["publicKeyPem"]}
    assert isinstance(actor_key(doc, key["id"], key_document=bare_key), ActorKey)
    stub = load("key_gotosocial_stub.json")
    assert isinstance(actor_key(doc, key["id"], key_document=stub), ActorKey)
    other_owner = {**bare_key, "owner": "https://gts.example/users/someone"}
    assert isinstance(actor_key(doc, key["id"], key_document=other_owner), KeyRefusal)


def refused(result: ActorKey | KeyDocument | KeyRefusal, fragment: str) -> bool:
    return isinstance(result, KeyRefusal) and fragment in result.reason


def test_tc07_key_on_another_origin_is_refused() -> None:
    victim = load("actor_mastodon.json")
    evil_key = "https://evil.example/users/e#main-key"
    # Even an actor document that lists the foreign key does not make it usable.
    victim["publicKey"] = {**victim["publicKey"], "id": evil_key}
    assert refused(actor_key(victim, evil_key), "not on the origin")


def test_tc07_evil_key_document_claiming_the_victim() -> None:
    evil_key = "https://evil.example/keys/1"
    evil_doc = {
        "id": evil_key,
        "owner": "https://mastodon.example/users/alice",
        "publicKeyPem": generate_rsa_keypair()[1],
    }
    assert refused(parse_key_document(evil_doc, evil_key), "another origin")
    victim = load("actor_mastodon.json")
    assert isinstance(actor_key(victim, evil_key, key_document=evil_doc), KeyRefusal)


def test_key_not_listed_is_refused() -> None:
    doc = load("actor_mastodon.json")
    assert refused(actor_key(doc, doc["id"] + "#other-key"), "does not list")


def test_owner_must_be_the_actor() -> None:
    doc = load("actor_mastodon.json")
    doc["publicKey"]["owner"] = "https://mastodon.example/users/bob"
    assert refused(actor_key(doc, doc["publicKey"]["id"]), "owned by")
    del doc["publicKey"]["owner"]
    assert refused(actor_key(doc, doc["publicKey"]["id"]), "owned by")
    fep = load("actor_fep521a.json")
    fep["assertionMethod"][0]["controller"] = "https://server.example/users/bob"
    assert refused(actor_key(fep, fep["assertionMethod"][0]["id"]), "owned by")


def test_assertion_method_needs_the_multikey_type() -> None:
    fep = load("actor_fep521a.json")
    fep["assertionMethod"][0]["type"] = "JsonWebKey"
    assert refused(actor_key(fep, fep["assertionMethod"][0]["id"]), "does not list")


def test_tc08_document_of_another_actor_is_refused() -> None:
    doc = load("actor_mastodon.json")
    result = actor_key(
        doc, doc["publicKey"]["id"], expected_actor_id="https://mastodon.example/users/victim"
    )
    assert refused(result, "not 'https://mastodon.example/users/victim'")


def test_unusable_keys_and_documents() -> None:
    doc = load("actor_mastodon.json")
    doc["publicKey"]["publicKeyPem"] = (
        "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n"
    )
    assert refused(actor_key(doc, doc["publicKey"]["id"]), "unusable")
    assert refused(actor_key({"type": "Person"}, "https://a.example/#k"), "no http(s) id")
    assert refused(actor_key({"id": "https://a.example/u"}, "urn:key:1"), "not an http(s) URL")
    assert actor_keys(doc) == ()


def test_key_owner_uri() -> None:
    assert (
        key_owner_uri("https://mastodon.example/users/alice#main-key")
        == "https://mastodon.example/users/alice"
    )
    assert key_owner_uri("https://gts.example/users/tobi/main-key") is None
    assert key_owner_uri("urn:uuid:1#k") is None
    assert key_owner_uri("http://127.0.0.1:8080/admin#x") == "http://127.0.0.1:8080/admin"


def test_parse_key_documents() -> None:
    key_id = "https://gts.example/users/tobi/main-key"
    found = parse_key_document(load("key_gotosocial_stub.json"), key_id)
    assert isinstance(found, KeyDocument)
    assert found.owner == "https://gts.example/users/tobi"
    assert found.public_key is not None
    multikey = {
        "id": "https://s.example/k/1",
        "type": "Multikey",
        "controller": "https://s.example/u/a",
        "publicKeyMultibase": FEP_521A_KEY,
    }
    found = parse_key_document(multikey, "https://s.example/k/1")
    assert isinstance(found, KeyDocument)
    assert found.owner == "https://s.example/u/a"
    # a stub whose key is owned by somebody else than the stub
    stub = load("key_gotosocial_stub.json")
    stub["publicKey"]["owner"] = "https://gts.example/users/other"
    assert refused(parse_key_document(stub, key_id), "owned by")
    assert refused(parse_key_document({"id": "https://gts.example/x"}, key_id), "does not describe")
    assert refused(parse_key_document({"id": key_id}, key_id), "does not describe")


# -- over HTTP ----------------------------------------------------------------------------


async def test_resolve_gotosocial_key_owner(peers: Peers, http: SafeHttpClient) -> None:
    stub = peers.rehost(load("key_gotosocial_stub.json"), {"gts.example": "gts.example"})
    actor = peers.rehost(load("actor_gotosocial.json"), {"gts.example": "gts.example"})
    key_id = stub["publicKey"]["id"]
    peers.serve_ap("gts.example", "/users/tobi/main-key", stub)
    peers.serve_ap("gts.example", "/users/tobi", actor)
    owner = await resolve_key_owner(http, key_id)
    assert owner == actor["id"]
    assert isinstance(owner, str)
    fetched = await http.fetch_ap(owner)
    found = actor_key(fetched.document, key_id, expected_actor_id=owner)
    assert isinstance(found, ActorKey)


async def test_fragment_key_owner_needs_no_request(peers: Peers, http: SafeHttpClient) -> None:
    key_id = peers.url("victim.example", "/users/v#main-key")
    assert await resolve_key_owner(http, key_id) == peers.url("victim.example", "/users/v")
    assert peers.seen == []


async def test_tc07_live(peers: Peers, http: SafeHttpClient) -> None:
    """Key doc on evil.example names the victim as owner; the victim does not list the key."""
    victim_id = peers.url("victim.example", "/users/v")
    evil_key = peers.url("evil.example", "/keys/v")
    peers.serve_ap(
        "evil.example",
        "/keys/v",
        {"id": evil_key, "owner": victim_id, "publicKeyPem": generate_rsa_keypair()[1]},
    )
    victim = peers.rehost(
        load("actor_mastodon.json"), {"mastodon.example/users/alice": "victim.example"}
    )
    victim = json.loads(json.dumps(victim).replace(peers.base("victim.example"), victim_id))
    peers.serve_ap("victim.example", "/users/v", victim)
    assert isinstance(await resolve_key_owner(http, evil_key), KeyRefusal)
    fetched = await http.fetch_ap(victim_id)
    assert isinstance(
        actor_key(fetched.document, evil_key, expected_actor_id=victim_id), KeyRefusal
    )


async def test_key_document_must_be_activitystreams(peers: Peers, http: SafeHttpClient) -> None:
    key_id = peers.url("gts.example", "/users/tobi/main-key")
    peers.serve_json("gts.example", "/users/tobi/main-key", load("key_gotosocial_stub.json"))
    with pytest.raises(InvalidDocument):
        await resolve_key_owner(http, key_id)


async def test_key_document_redirect_to_another_origin_is_refused(
    peers: Peers, http: SafeHttpClient
) -> None:
    key_id = peers.url("victim.example", "/users/v/main-key")
    peers.redirect(
        "victim.example", "/users/v/main-key", peers.url("evil.example", "/users/v/main-key")
    )
    with pytest.raises(RedirectRefused):
        await resolve_key_owner(http, key_id)
    assert peers.hits("evil.example") == 0


async def test_tc08_cross_origin_actor_redirect_is_refused(
    peers: Peers, http: SafeHttpClient
) -> None:
    victim_id = peers.url("victim.example", "/users/v")
    peers.redirect("victim.example", "/users/v", peers.url("evil.example", "/users/m"))
    peers.serve_ap(
        "evil.example", "/users/m", {"id": peers.url("evil.example", "/users/m"), "type": "Person"}
    )
    with pytest.raises(RedirectRefused):
        await http.fetch_ap(victim_id)


async def test_tc08_same_origin_redirect_to_another_actor(
    peers: Peers, http: SafeHttpClient
) -> None:
    victim_id = peers.url("victim.example", "/users/v")
    mallory_id = peers.url("victim.example", "/users/m")
    mallory = {
        "id": mallory_id,
        "type": "Person",
        "inbox": mallory_id + "/inbox",
        "publicKey": {
            "id": mallory_id + "#main-key",
            "owner": mallory_id,
            "publicKeyPem": generate_rsa_keypair()[1],
        },
    }
    peers.redirect("victim.example", "/users/v", mallory_id)
    peers.serve_ap("victim.example", "/users/m", mallory)
    fetched = await http.fetch_ap(victim_id)
    assert fetched.final_url == mallory_id
    assert isinstance(
        actor_key(fetched.document, mallory_id + "#main-key", expected_actor_id=victim_id),
        KeyRefusal,
    )
    with pytest.raises(InvalidActor):
        RemoteActor.from_document(fetched.document, expected_id=victim_id)


async def test_tc08_document_with_another_id_is_refused(peers: Peers, http: SafeHttpClient) -> None:
    victim_id = peers.url("victim.example", "/users/v")
    peers.serve_ap(
        "victim.example",
        "/users/v",
        {"id": peers.url("victim.example", "/users/m"), "type": "Person"},
    )
    with pytest.raises(InvalidDocument):
        await http.fetch_ap(victim_id)


async def test_tc21_key_ids_on_loopback_are_never_fetched() -> None:
    from tests.activitypub.conftest import make_client

    async with make_client() as strict:
        with pytest.raises(BlockedAddress):
            await resolve_key_owner(strict, "http://127.0.0.1:8080/admin")
        owner = await resolve_key_owner(strict, "http://127.0.0.1:8080/admin#main-key")
        assert isinstance(owner, str)
        with pytest.raises(BlockedAddress):
            await strict.fetch_ap(owner)


# -- the actor view -------------------------------------------------------------------------


def test_mastodon_actor_view() -> None:
    actor = RemoteActor.from_document(
        load("actor_mastodon.json"), expected_id="https://mastodon.example/users/alice"
    )
    assert actor.type == "Person"
    assert actor.preferred_username == "alice"
    assert actor.name == "Alice"
    assert actor.summary == "<p>Trainer at Uni A</p>"
    assert actor.inbox == "https://mastodon.example/users/alice/inbox"
    assert actor.outbox == "https://mastodon.example/users/alice/outbox"
    assert actor.followers == "https://mastodon.example/users/alice/followers"
    assert actor.following == "https://mastodon.example/users/alice/following"
    assert actor.featured == "https://mastodon.example/users/alice/collections/featured"
    assert actor.shared_inbox == "https://mastodon.example/inbox"
    assert actor.delivery_inbox == "https://mastodon.example/inbox"
    assert actor.url == "https://mastodon.example/@alice"
    assert actor.icon_url is not None
    assert actor.icon_url.startswith("https://files.mastodon.example/")  # media may live elsewhere
    assert actor.image_url is not None
    assert actor.discoverable is True
    assert actor.manually_approves_followers is False
    assert actor.published == datetime(2023, 1, 1, tzinfo=UTC)
    assert actor.key("https://mastodon.example/users/alice#main-key") is not None
    assert actor.origin.host == "mastodon.example"


def test_other_real_actors() -> None:
    gts = RemoteActor.from_document(load("actor_gotosocial.json"))
    assert gts.manually_approves_followers is True
    assert gts.shared_inbox is None
    assert gts.delivery_inbox == "https://gts.example/users/tobi/inbox"
    assert [k.key_id for k in gts.keys] == ["https://gts.example/users/tobi/main-key"]
    misskey = RemoteActor.from_document(load("actor_misskey.json"))
    assert misskey.name == "しゅいろ"
    assert misskey.image_url is None
    assert misskey.icon_url == "https://misskey.example/files/avatar.webp"
    group = RemoteActor.from_document(load("actor_lemmy_group.json"))
    assert group.is_group
    assert group.following is None
    assert group.posting_restricted_to_mods is False
    assert group.shared_inbox == "https://lemmy.example/inbox"
    fep = RemoteActor.from_document(load("actor_fep521a.json"))
    assert len(fep.keys) == 2


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"endpoints": {"sharedInbox": "https://evil.example/inbox"}}, "sharedInbox"),
        ({"inbox": "https://evil.example/inbox"}, "inbox"),
        ({"inbox": None}, "no inbox"),
        ({"outbox": "javascript:alert(1)"}, "outbox"),
        ({"followers": "https://mastodon.example:8443/followers"}, "followers"),
        ({"following": "http://mastodon.example/users/alice/following"}, "following"),
        ({"featured": {"id": "https://evil.example/featured"}}, "featured"),
        ({"type": "Note"}, "not an actor type"),
        ({"id": "urn:uuid:1"}, "no http(s) id"),
        ({"preferredUsername": "alice@victim.example"}, "preferredUsername"),
        ({"preferredUsername": "ali ce"}, "preferredUsername"),
        ({"preferredUsername": 7}, "preferredUsername"),
    ],
)
def test_actor_refusals(change: dict[str, Any], reason: str) -> None:
    doc = copy.deepcopy(load("actor_mastodon.json"))
    doc.update(change)
    with pytest.raises(InvalidActor) as info:
        RemoteActor.from_document(doc)
    assert reason in info.value.message
    assert isinstance(info.value, InvalidDocument)


def test_lenient_fields_are_dropped_not_refused() -> None:
    doc = load("actor_mastodon.json")
    doc.update(
        {
            "url": "https://victim.example/@alice",  # TC05: profile link on another host
            "icon": {"type": "Image", "url": "javascript:alert(1)"},
            "image": [{"type": "Link", "href": "https://cdn.example/h.jpg"}],
            "discoverable": "yes",
            "published": "yesterday",
            "name": "<script>x</script>",
            "type": ["Service", "Person"],
        }
    )
    actor = RemoteActor.from_document(doc)
    assert actor.url is None
    assert actor.icon_url is None
    assert actor.image_url == "https://cdn.example/h.jpg"
    assert actor.discoverable is None
    assert actor.published is None
    assert actor.name == "<script>x</script>"  # kept raw; the application sanitizes
    assert actor.type == "Service"


def test_expected_id_mismatch() -> None:
    with pytest.raises(InvalidActor):
        RemoteActor.from_document(
            load("actor_mastodon.json"), expected_id="https://mastodon.example/users/bob"
        )


def test_profile_fields_are_read_from_property_values() -> None:
    doc = load("actor_mastodon.json")
    doc["attachment"] = [
        {
            "type": "PropertyValue",
            "name": "Web",
            "value": '<a href="https://uni-a.edu">uni-a.edu</a>',
        },
        {"type": "Image", "name": "not a field", "url": "https://mastodon.example/a.png"},
        {"type": "PropertyValue", "value": "a field needs a name"},
        *({"type": "PropertyValue", "name": f"n{i}", "value": "v" * 5000} for i in range(40)),
    ]
    actor = RemoteActor.from_document(doc)
    assert actor.fields[0] == ("Web", '<a href="https://uni-a.edu">uni-a.edu</a>')
    assert len(actor.fields) == MAX_FIELDS
    assert all(len(value) <= MAX_FIELD_VALUE for _, value in actor.fields)
