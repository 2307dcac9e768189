"""Key generation and loading (activitypub.keys) and the structured-field parser."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from activitypub.keys import (
    InvalidKey,
    generate_ed25519_keypair,
    generate_rsa_keypair,
    load_private_key_pem,
    load_public_key_pem,
    public_key_pem,
)
from activitypub.signatures._sfv import (
    InnerList,
    Item,
    StructuredFieldError,
    Token,
    parse_dictionary,
    serialize_inner_list,
)


def test_generate_rsa_keypair() -> None:
    private_pem, public_pem = generate_rsa_keypair()
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    private = load_private_key_pem(private_pem)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size == 2048
    assert public_key_pem(private.public_key()) == public_pem
    assert isinstance(load_public_key_pem(public_pem.encode()), rsa.RSAPublicKey)


def test_generate_ed25519_keypair() -> None:
    private_pem, public_pem = generate_ed25519_keypair()
    private = load_private_key_pem(private_pem)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    assert public_key_pem(private.public_key()) == public_pem


def test_pkcs1_rsa_public_key_is_accepted() -> None:
    _, public_pem = generate_rsa_keypair()
    key = load_public_key_pem(public_pem)
    pkcs1 = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    assert pkcs1.startswith(b"-----BEGIN RSA PUBLIC KEY-----")
    assert load_public_key_pem(pkcs1) == key


@pytest.mark.parametrize("text", ["", "garbage", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END"])
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(InvalidKey):
        load_public_key_pem(text)
    with pytest.raises(InvalidKey):
        load_private_key_pem(text)


def test_short_rsa_and_other_key_types_are_refused() -> None:
    short = rsa.RSAPublicNumbers(65537, (1 << 511) + 187).public_key()
    with pytest.raises(InvalidKey, match="too short"):
        load_public_key_pem(public_key_pem(short))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_public = ec_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(InvalidKey, match="unsupported"):
        load_public_key_pem(ec_public)


def test_structured_dictionary_round_trip() -> None:
    text = 'sig1=("@method" "x";k=?1 "a\\\\b\\"c");created=1;keyid="k";alg=tok, b=?0, n=-1.5'
    parsed = parse_dictionary(text)
    sig1 = parsed["sig1"]
    assert isinstance(sig1, InnerList)
    assert sig1.items == (Item("@method"), Item("x", (("k", True),)), Item('a\\b"c'))
    assert sig1.param("alg") == Token("tok")
    assert isinstance(sig1.param("alg"), Token)
    assert serialize_inner_list(sig1) == (
        '("@method" "x";k "a\\\\b\\"c");created=1;keyid="k";alg=tok'
    )
    assert parsed["b"] == Item(False)
    assert parsed["n"] == Item(-1.5)


@pytest.mark.parametrize(
    "text",
    [
        "a=1,",
        "a=1 b=2",
        "A=1",
        "a=1, a=2",
        'a="unterminated',
        'a="tab\tinside"',
        "a=(1 2",
        "a=:not base64:",
        "a=1234567890123456",
        "a=1.2345",
        "a=?2",
        "a=@",
    ],
)
def test_structured_dictionary_errors(text: str) -> None:
    with pytest.raises(StructuredFieldError):
        parse_dictionary(text)
