"""RFC 9421 HTTP Message Signatures for requests (``rsa-v1_5-sha256`` and ``ed25519``).

Only request components are handled: ``@method``, ``@target-uri``, ``@authority``,
``@scheme``, ``@request-target``, ``@path``, ``@query`` and plain header fields
without parameters. Anything else makes the signature unusable (MALFORMED).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric import rsa

from activitypub.keys import PrivateKey
from activitypub.signatures._checks import (
    RFC9421_ALGORITHMS,
    encode_base,
    normalize_authority,
    sign_bytes,
)
from activitypub.signatures._model import (
    ParsedSignature,
    Reason,
    RequestParts,
    Scheme,
    VerificationResult,
)
from activitypub.signatures._sfv import (
    BareItem,
    InnerList,
    Item,
    StructuredFieldError,
    Token,
    parse_dictionary,
    serialize_inner_list,
    serialize_item,
    serialize_params,
)
from activitypub.signatures.cavage import MissingHeaderError

__all__ = [
    "UnsupportedComponentError",
    "parse_rfc9421",
    "rfc9421_headers",
    "rfc9421_signature_base",
]

DERIVED_COMPONENTS = frozenset(
    {"@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query"}
)


class UnsupportedComponentError(ValueError):
    """A covered component this implementation cannot reproduce."""


def _fail(reason: Reason, detail: str, key_id: str | None = None) -> VerificationResult:
    return VerificationResult.fail(reason, detail, key_id, Scheme.RFC9421)


def _int_param(member: InnerList, name: str) -> int | None:
    value = member.param(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(name)
    return value


def _components(member: InnerList) -> tuple[str, ...]:
    names: list[str] = []
    for item in member.items:
        value = item.value
        if not isinstance(value, str) or isinstance(value, Token) or value != value.lower():
            raise ValueError("component identifiers must be lowercase strings")
        if value in names:
            raise ValueError(f"component {value} is covered twice")
        names.append(value)
    return tuple(names)


def _parse_member(label: str, member: InnerList, signature: bytes) -> ParsedSignature | None:
    key_id = member.param("keyid")
    alg = member.param("alg")
    if not isinstance(key_id, str) or not key_id or (alg is not None and not isinstance(alg, str)):
        return None
    try:
        covered = _components(member)
        created = _int_param(member, "created")
        expires = _int_param(member, "expires")
    except ValueError:
        return None
    return ParsedSignature(
        scheme=Scheme.RFC9421,
        key_id=key_id,
        algorithm=alg.lower() if isinstance(alg, str) else None,
        covered=covered,
        signature=signature,
        created=created,
        expires=expires,
        label=label,
        signature_params=member,
    )


def parse_rfc9421(signature_input: str, signature: str) -> ParsedSignature | VerificationResult:
    """Pick the first ``Signature-Input`` label we can verify and parse it."""
    try:
        inputs = parse_dictionary(signature_input)
        signatures = parse_dictionary(signature)
    except StructuredFieldError as exc:
        return _fail(Reason.MALFORMED, f"Signature-Input or Signature: {exc}")
    unsupported: str | None = None
    for label, member in inputs.items():
        if not isinstance(member, InnerList):
            continue
        alg = member.param("alg")
        if isinstance(alg, str) and alg.lower() not in RFC9421_ALGORITHMS:
            unsupported = alg
            continue
        value = signatures.get(label)
        if not isinstance(value, Item) or not isinstance(value.value, bytes) or not value.value:
            continue
        parsed = _parse_member(label, member, value.value)
        if parsed is not None:
            return parsed
    if unsupported is not None:
        return _fail(Reason.UNSUPPORTED_ALGORITHM, f"algorithm {unsupported} is not supported")
    return _fail(Reason.MALFORMED, "no well-formed signature label")


def _authority(request: RequestParts) -> str:
    host = request.headers.get("host")
    if host is None:
        raise MissingHeaderError("host")
    return normalize_authority(host)


def _derived(name: str, request: RequestParts, scheme: str) -> str:
    if name == "@method":
        return request.method
    if name == "@authority":
        return _authority(request)
    if name == "@scheme":
        return scheme
    if name == "@target-uri":
        return f"{scheme}://{_authority(request)}{request.target}"
    if name == "@request-target":
        return request.target
    if name == "@path":
        return request.path
    if name == "@query":
        return "?" + (request.query or "")
    raise UnsupportedComponentError(name)


def rfc9421_signature_base(
    signature_params: InnerList, request: RequestParts, *, scheme: str = "https"
) -> str:
    """The signature base of RFC 9421 section 2.5 for ``request``.

    Raises MissingHeaderError for an absent covered field and UnsupportedComponentError
    for a component we do not reproduce.
    """
    lines: list[str] = []
    identifiers: list[str] = []
    for item in signature_params.items:
        name = str(item.value)
        identifier = serialize_item(item)
        identifiers.append(identifier)
        if name.startswith("@"):
            if item.params:
                raise UnsupportedComponentError(serialize_item(item))
            value = _derived(name, request, scheme)
        else:
            if item.params:
                raise UnsupportedComponentError(serialize_item(item))
            found = request.headers.get(name)
            if found is None:
                raise MissingHeaderError(name)
            value = found
        if "\n" in value or "\r" in value:
            raise UnsupportedComponentError(f"{name} contains a line break")
        lines.append(f"{identifier}: {value}")
    params = serialize_params(signature_params.params)
    lines.append(f'"@signature-params": ({" ".join(identifiers)}){params}')
    return "\n".join(lines)


def rfc9421_headers(
    request: RequestParts,
    private_key: PrivateKey,
    key_id: str,
    components: Sequence[str],
    *,
    created: int,
    expires: int | None = None,
    label: str = "sig1",
    include_alg: bool = True,
    scheme: str = "https",
) -> tuple[str, str]:
    """Sign ``request``; return the ``Signature-Input`` and ``Signature`` header values."""
    params: list[tuple[str, BareItem]] = [("created", created)]
    if expires is not None:
        params.append(("expires", expires))
    params.append(("keyid", key_id))
    if include_alg:
        is_rsa = isinstance(private_key, rsa.RSAPrivateKey)
        params.append(("alg", "rsa-v1_5-sha256" if is_rsa else "ed25519"))
    inner = InnerList(tuple(Item(name) for name in components), tuple(params))
    base = rfc9421_signature_base(inner, request, scheme=scheme)
    signature = sign_bytes(private_key, encode_base(base))
    encoded = base64.b64encode(signature).decode("ascii")
    return f"{label}={serialize_inner_list(inner)}", f"{label}=:{encoded}:"
