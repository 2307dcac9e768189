"""Validates client API responses against the community OpenAPI description of Mastodon's API.

``tests/api/data/mastodon-openapi.json`` (MIT, licence beside it) describes each endpoint's
responses. :func:`validate` finds the operation for a request path and method
and checks the JSON body of a response against the schema for its status code.
Every request made through ``tests.api.conftest.Api`` is checked this way.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMA_PATH = Path(__file__).with_name("data") / "mastodon-openapi.json"


class SchemaMismatch(AssertionError):
    pass


@functools.cache
def _document() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(SCHEMA_PATH.read_bytes())
    return data


@functools.cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(_document(), default_specification=_spec())
    registry: Registry[Any] = Registry().with_resource("urn:mastodon-openapi", resource)
    return registry


def _spec() -> Any:
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012


@functools.cache
def _routes() -> list[tuple[re.Pattern[str], str]]:
    routes = []
    for template in _document()["paths"]:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        routes.append((re.compile(f"^{pattern}/?$"), template))
    # Literal paths before templated ones (/accounts/lookup before /accounts/{id}).
    routes.sort(key=lambda r: (r[1].count("{"), -len(r[1])))
    return routes


def operation_for(path: str, method: str) -> tuple[str, dict[str, Any]] | None:
    for pattern, template in _routes():
        if pattern.match(path):
            operation = _document()["paths"][template].get(method.lower())
            if operation is not None:
                return template, operation
    return None


def response_schema(path: str, method: str, status: int) -> dict[str, Any] | None:
    found = operation_for(path, method)
    if found is None:
        return None
    _, operation = found
    responses = operation.get("responses", {})
    response = responses.get(str(status)) or responses.get("default")
    if response is None:
        return None
    if "$ref" in response:
        response = _resolve(response["$ref"])
    content = response.get("content", {}).get("application/json")
    if content is None or "schema" not in content:
        return None
    schema: dict[str, Any] = content["schema"]
    return schema


def _resolve(ref: str) -> dict[str, Any]:
    node: Any = _document()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    result: dict[str, Any] = node
    return result


def _rebase(schema: Any) -> Any:
    """Point local ``#/components/...`` references at the registered document."""
    if isinstance(schema, dict):
        return {
            k: (
                f"urn:mastodon-openapi{v}"
                if k == "$ref" and isinstance(v, str) and v.startswith("#")
                else _rebase(v)
            )
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(v) for v in schema]
    return schema


def validate(path: str, method: str, status: int, body: Any) -> bool:
    """Raise :class:`SchemaMismatch` if ``body`` does not fit the schema; False if none applies."""
    schema = response_schema(path, method, status)
    if schema is None:
        return False
    validator = Draft202012Validator(_rebase(schema), registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{method} {path} -> {status} does not match the OpenAPI schema:"]
        for error in errors[:10]:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            lines.append(f"  at {where}: {error.message[:300]}")
        raise SchemaMismatch("\n".join(lines))
    return True
