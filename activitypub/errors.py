"""Errors of the outbound HTTP layer.

Every failure of :class:`activitypub.http.SafeHttpClient` is one of these; no
httpx, httpcore, ``ssl`` or ``OSError`` exception crosses that boundary. Each
error carries the URL it concerns, a short message that is safe to log or show
to an administrator, and ``retryable``: whether trying the same request later
can reasonably succeed (the delivery workers and fetch caches decide on that
flag alone).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BlockedAddress",
    "BodyTooLarge",
    "ConnectError",
    "FetchError",
    "HTTPStatusError",
    "InvalidDocument",
    "InvalidURL",
    "ProtocolError",
    "RedirectLoop",
    "RedirectRefused",
    "Timeout",
    "TooManyRedirects",
]


class FetchError(Exception):
    """Base class: an outbound request did not produce a usable answer."""

    default_retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, url: str, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.retryable = self.default_retryable if retryable is None else retryable

    def __str__(self) -> str:
        return f"{self.message} ({self.url})"


class InvalidURL(FetchError):
    """The URL is not an absolute http(s) URL we are willing to request."""


class BlockedAddress(FetchError):
    """The host is, or resolves to, an address outside the public internet."""


class TooManyRedirects(FetchError):
    """More redirects than the configured maximum."""


class RedirectLoop(TooManyRedirects):
    """A redirect points back to a URL already visited in this request."""


class RedirectRefused(FetchError):
    """A redirect to a non-http(s) URL, to another origin when that is refused, or unusable."""


class BodyTooLarge(FetchError):
    """The (decoded) response body is, or announces to be, larger than the cap."""

    def __init__(self, message: str, *, url: str, limit: int) -> None:
        super().__init__(message, url=url)
        self.limit = limit


class Timeout(FetchError):
    """Connect, read or write timeout, or the whole-request deadline passed."""

    default_retryable = True


class ConnectError(FetchError):
    """Name resolution, TCP connection or TLS handshake failed."""

    default_retryable = True


class ProtocolError(FetchError):
    """The peer broke HTTP (malformed response, connection dropped mid-response)."""

    default_retryable = True


class HTTPStatusError(FetchError):
    """A response status that the operation cannot use.

    Retryable for 5xx, 408 and 429; ``retry_after`` holds the parsed
    ``Retry-After`` header in seconds when the peer sent a valid one.
    """

    def __init__(self, message: str, *, url: str, status: int, retry_after: float | None) -> None:
        super().__init__(message, url=url, retryable=is_retryable_status(status))
        self.status = status
        self.retry_after = retry_after


class InvalidDocument(FetchError):
    """The body is unusable: wrong content type, bad encoding or JSON, id or origin mismatch."""


def is_retryable_status(status: int) -> bool:
    """True for statuses where a later retry of the same request may succeed."""
    return status >= 500 or status in (408, 429)
