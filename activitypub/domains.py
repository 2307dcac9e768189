"""Domain and origin normalization.

Every domain the server stores or compares goes through :func:`normalize_domain`:
lowercase, IDNA (UTS #46 is not applied: a label that is not valid IDNA 2003 is
refused rather than guessed at), one trailing dot stripped. Anything that is not
a plain host (``/``, ``@``, whitespace, an empty label) is refused, so that
``evil.example/x`` or ``a@b`` can never end up in a block list or an origin
comparison.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "InvalidDomain",
    "Origin",
    "domain_matches",
    "normalize_domain",
    "normalize_host_port",
    "origin_of",
]

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_FORBIDDEN = re.compile(r"[\s/@\\?#:%\[\]]")
_MAX_DOMAIN_LENGTH = 253


class InvalidDomain(ValueError):
    """The text is not a domain name we can store or compare."""


def normalize_domain(value: str) -> str:
    """Return the canonical form of a domain name or IP literal, or raise InvalidDomain.

    >>> normalize_domain("Example.COM.")
    'example.com'
    >>> normalize_domain("bücher.example")
    'xn--bcher-kva.example'
    """
    if not isinstance(value, str):
        raise InvalidDomain("a domain must be text")
    text = value.strip()
    if not text:
        raise InvalidDomain("a domain cannot be empty")
    if text != value and any(ch.isspace() for ch in value.strip("\n")):
        # Surrounding newlines from a shell are tolerated; other padding is not.
        raise InvalidDomain(f"{value!r} contains whitespace")
    if text.startswith("[") and text.endswith("]"):
        return _normalize_ipv6_literal(text[1:-1], value)
    if _FORBIDDEN.search(text):
        raise InvalidDomain(f"{value!r} is not a domain name (it contains / @ : or whitespace)")
    if text.endswith("."):
        text = text[:-1]
    if not text or text.endswith("."):
        raise InvalidDomain(f"{value!r} is not a domain name")
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        pass
    else:
        return text
    try:
        ascii_form = text.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InvalidDomain(f"{value!r} is not a valid internationalized domain name") from exc
    if len(ascii_form) > _MAX_DOMAIN_LENGTH:
        raise InvalidDomain(f"{value!r} is longer than {_MAX_DOMAIN_LENGTH} characters")
    labels = ascii_form.split(".")
    for label in labels:
        if not _LABEL.match(label):
            raise InvalidDomain(f"{value!r} has an invalid label {label!r}")
    return ascii_form


def _normalize_ipv6_literal(inner: str, original: str) -> str:
    try:
        address = ipaddress.IPv6Address(inner)
    except ValueError as exc:
        raise InvalidDomain(f"{original!r} is not a valid IPv6 literal") from exc
    return f"[{address.compressed}]"


def normalize_host_port(value: str) -> str:
    """Normalize ``host`` or ``host:port`` (the form of our own ``domain`` setting).

    The port is kept when present; the host part goes through normalize_domain.
    """
    text = value.strip()
    host, port = text, ""
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            raise InvalidDomain(f"{value!r} is not a valid host")
        host, rest = text[: end + 1], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise InvalidDomain(f"{value!r} is not a valid host")
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    normalized = normalize_domain(host)
    if port:
        if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            raise InvalidDomain(f"{value!r} has an invalid port")
        return f"{normalized}:{int(port)}"
    return normalized


def domain_matches(domain: str, blocked: str) -> bool:
    """True when ``domain`` is ``blocked`` or one of its subdomains.

    Both arguments must already be normalized. ``sub.example.com`` matches
    ``example.com``; ``badexample.com`` does not.
    """
    return domain == blocked or domain.endswith("." + blocked)


@dataclass(frozen=True, slots=True)
class Origin:
    """The (scheme, host, port) triple that decides whether two URLs share an origin."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        default = {"http": 80, "https": 443}.get(self.scheme)
        if self.port == default:
            return f"{self.scheme}://{self.host}"
        return f"{self.scheme}://{self.host}:{self.port}"


def origin_of(url: str) -> Origin:
    """The origin of an http(s) URL, with the host normalized; raises InvalidDomain."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidDomain(f"{url!r} is not a valid URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidDomain(f"{url!r} is not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidDomain(f"{url!r} carries credentials")
    host = parts.hostname
    if not host:
        raise InvalidDomain(f"{url!r} has no host")
    if ":" in host:
        host = f"[{host}]"
    normalized = normalize_domain(host)
    return Origin(
        scheme, normalized, port if port is not None else (443 if scheme == "https" else 80)
    )
