"""HTTP signatures: draft-cavage-12 (as Mastodon uses it) and RFC 9421 with RFC 9530.

Receiving (the inbox)::

    parsed = parse_signature(request_headers)          # no I/O
    if isinstance(parsed, VerificationResult):          # not signed / unreadable
        return 401
    key = await fetch_key(parsed.key_id)                 # elsewhere, SSRF-guarded
    result = verify(parsed, RequestParts.build(method, target, headers, body),
                    key, expected_host="example.com")
    if not result.verified:
        return 401                                       # result.reason says why

Sending: ``httpx.AsyncClient(auth=HttpSignatureAuth(key_id, private_pem, ...))``.
"""

from activitypub.keys import (
    InvalidKey,
    PrivateKey,
    PublicKey,
    generate_ed25519_keypair,
    generate_rsa_keypair,
    load_private_key_pem,
    load_public_key_pem,
)
from activitypub.signatures._checks import (
    CLOCK_SKEW,
    DEFAULT_VALIDITY,
    MAX_VALIDITY,
    content_digest_header,
    digest_header,
)
from activitypub.signatures._model import (
    ParsedSignature,
    Reason,
    RequestParts,
    Scheme,
    VerificationResult,
    normalize_headers,
)
from activitypub.signatures.client import (
    HttpSignatureAuth,
    SignaturePreferences,
    origin_of_url,
    sign_request,
)
from activitypub.signatures.verify import (
    KeyInput,
    KeyResolver,
    parse_signature,
    verify,
    verify_request,
)

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_VALIDITY",
    "MAX_VALIDITY",
    "HttpSignatureAuth",
    "InvalidKey",
    "KeyInput",
    "KeyResolver",
    "ParsedSignature",
    "PrivateKey",
    "PublicKey",
    "Reason",
    "RequestParts",
    "Scheme",
    "SignaturePreferences",
    "VerificationResult",
    "content_digest_header",
    "digest_header",
    "generate_ed25519_keypair",
    "generate_rsa_keypair",
    "load_private_key_pem",
    "load_public_key_pem",
    "normalize_headers",
    "origin_of_url",
    "parse_signature",
    "sign_request",
    "verify",
    "verify_request",
]
