"""The SSRF address policy on its own (TC19): every refused form, and the allow-list."""

from __future__ import annotations

import ipaddress

import pytest

from activitypub.netguard import AddressPolicy, AddressRefused, literal_address

# TC19: (URL host, the address it denotes) for every form in the threat table.
TC19_LITERALS = [
    ("127.0.0.1", "127.0.0.1"),
    ("0.0.0.0", "0.0.0.0"),
    ("10.1.2.3", "10.1.2.3"),
    ("172.16.0.1", "172.16.0.1"),
    ("192.168.0.1", "192.168.0.1"),
    ("100.64.0.1", "100.64.0.1"),
    ("169.254.169.254", "169.254.169.254"),
    ("198.18.0.1", "198.18.0.1"),
    ("224.0.0.1", "224.0.0.1"),
    ("[::1]", "::1"),
    ("[::]", "::"),
    ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
    ("[::ffff:7f00:1]", "::ffff:7f00:1"),
    ("[64:ff9b::a9fe:a9fe]", "64:ff9b::a9fe:a9fe"),
    ("[2002:7f00:1::]", "2002:7f00:1::"),
    ("[fe80::1]", "fe80::1"),
    ("[fc00::1]", "fc00::1"),
]
NUMERIC_SPELLINGS = ["127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "0x7f000001", "1.2.3.4.5"]
EXTRA_REFUSED = [
    "255.255.255.255",
    "240.0.0.1",
    "192.0.2.1",
    "203.0.113.9",
    "::7f00:1",  # IPv4-compatible
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "ff02::1",
    "fec0::1",
    "2001:db8::1",
    "100::1",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
]
PUBLIC = [
    "93.184.216.34",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "2002:5db8:d822::1",
    "64:ff9b::808:808",
]


@pytest.mark.parametrize(("host", "address"), TC19_LITERALS)
def test_literal_addresses_are_refused(host: str, address: str) -> None:
    parsed = literal_address(host)
    assert parsed == ipaddress.ip_address(address)
    reason = AddressPolicy().refusal_reason(parsed)
    assert reason is not None
    with pytest.raises(AddressRefused):
        AddressPolicy().check(host, parsed)


@pytest.mark.parametrize("host", NUMERIC_SPELLINGS)
def test_numeric_spellings_are_refused_outright(host: str) -> None:
    with pytest.raises(AddressRefused, match="non-canonical numeric IPv4"):
        literal_address(host)


@pytest.mark.parametrize("address", EXTRA_REFUSED)
def test_other_special_ranges_are_refused(address: str) -> None:
    assert AddressPolicy().refusal_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert AddressPolicy().refusal_reason(ipaddress.ip_address(address)) is None


def test_domain_names_are_not_literals() -> None:
    assert literal_address("example.com") is None
    assert literal_address("127.0.0.1.example") is None


def test_reasons_name_the_range() -> None:
    policy = AddressPolicy()
    assert "carrier-grade NAT" in (policy.refusal_reason(ipaddress.ip_address("100.64.0.1")) or "")
    assert "NAT64 of link-local" in (
        policy.refusal_reason(ipaddress.ip_address("64:ff9b::a9fe:a9fe")) or ""
    )
    assert "IPv4-mapped loopback" in (
        policy.refusal_reason(ipaddress.ip_address("::ffff:7f00:1")) or ""
    )
    assert "6to4 of loopback" in (
        policy.refusal_reason(ipaddress.ip_address("2002:7f00:1::")) or ""
    )


def test_allowed_networks_open_only_what_they_list() -> None:
    policy = AddressPolicy(["127.0.0.0/8", "fd00:1::/64"])
    assert policy.refusal_reason(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.refusal_reason(ipaddress.ip_address("::ffff:127.0.0.1")) is None
    assert policy.refusal_reason(ipaddress.ip_address("fd00:1::5")) is None
    assert policy.refusal_reason(ipaddress.ip_address("::1")) is not None
    assert policy.refusal_reason(ipaddress.ip_address("10.0.0.1")) is not None
    assert policy.refusal_reason(ipaddress.ip_address("fd00:2::5")) is not None


def test_allowed_networks_reject_bad_cidr() -> None:
    with pytest.raises(ValueError):
        AddressPolicy(["not-a-network"])
