"""Errors the services raise for a request they refuse; each carries a client-safe message."""

from __future__ import annotations


class ServiceError(Exception):
    """The caller asked for something that cannot be done; ``str()`` says why in one line."""

    status = 422


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Invalid(ServiceError):
    status = 422
