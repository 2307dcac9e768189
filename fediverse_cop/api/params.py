"""Request parameters of the client API, whatever way the client sent them.

Mastodon (Rails) accepts the query string, form, multipart and JSON bodies
alike; clients use all four (Ice Cubes registers its app with query
parameters and sends JSON to the token endpoint, Tusky uses forms, toot JSON).
Form keys in Rails' bracket notation (``media_ids[]``, ``poll[options][]``,
``fields_attributes[0][name]``) become lists and nested dicts, so every
endpoint reads one nested structure. Booleans accept ``1/0/true/false``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request

from fediverse_cop.services.errors import Invalid

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_TRUE = frozenset({"1", "true", "t", "on", "yes"})
_FALSE = frozenset({"0", "false", "f", "off", "no", ""})
MAX_FIELDS = 1000
MAX_DEPTH = 4


class BadRequest(Invalid):
    """A request whose parameters cannot be read at all."""

    status = 400


def _insert(root: dict[str, Any], key: str, value: Any) -> None:
    match = _KEY.match(key)
    if match is None:
        return
    path = [match.group(1), *_SEGMENT.findall(match.group(2))]
    if len(path) > MAX_DEPTH:
        return
    node: Any = root
    for index, segment in enumerate(path[:-1]):
        following = path[index + 1]
        if not isinstance(node, dict) or segment == "":
            return
        child = node.get(segment)
        if following == "":
            if not isinstance(child, list):
                child = []
                node[segment] = child
        elif not isinstance(child, dict):
            child = {}
            node[segment] = child
        node = child
    last = path[-1]
    if last == "":
        if isinstance(node, list):
            node.append(value)
    elif isinstance(node, dict):
        node[last] = value


def nest(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Rails-style bracket keys to nested dicts and lists (later plain keys win)."""
    root: dict[str, Any] = {}
    for key, value in pairs[:MAX_FIELDS]:
        _insert(root, key, value)
    return root


class Params:
    """One view over query, form, multipart and JSON parameters (the body wins on conflicts)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    async def read(cls, request: Request) -> Params:
        cached = getattr(request.state, "params", None)
        if isinstance(cached, Params):
            return cached
        data = nest(list(request.query_params.multi_items()))
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            data.update(await _body(request))
        params = cls(data)
        request.state.params = params
        return params

    def has(self, name: str) -> bool:
        return name in self.data and self.data[name] is not None

    def raw(self, name: str) -> Any:
        return self.data.get(name)

    def text(
        self, name: str, default: str | None = None, *, max_length: int = 100_000
    ) -> str | None:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if not isinstance(value, str):
            raise Invalid(f"{name} must be a string")
        if len(value) > max_length:
            raise Invalid(f"{name} is longer than {max_length} characters")
        return value

    def required_text(self, name: str, *, max_length: int = 100_000) -> str:
        value = self.text(name, max_length=max_length)
        if value is None or not value.strip():
            raise Invalid(f"Validation failed: {name} can't be blank")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        return to_bool(self.data.get(name), default, name)

    def number(
        self, name: str, default: int | None = None, *, minimum: int = 0, maximum: int = 2**62
    ) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise Invalid(f"{name} must be a number") from None
        return max(minimum, min(maximum, number))

    def items(self, name: str, *, max_items: int = 100) -> list[Any]:
        """A list parameter: ``name[]=a&name[]=b``, a JSON array, or one plain value."""
        value = self.data.get(name)
        if value is None:
            return []
        items = (
            value
            if isinstance(value, list)
            else list(value.values())
            if isinstance(value, dict)
            else [value]
        )
        return items[:max_items]

    def texts(self, name: str, *, max_items: int = 100) -> list[str]:
        return [
            str(item)
            for item in self.items(name, max_items=max_items)
            if not isinstance(item, dict | list)
        ]

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.data.get(name)
        return value if isinstance(value, dict) else {}

    def file(self, name: str) -> UploadFile | None:
        value = self.data.get(name)
        return value if isinstance(value, UploadFile) else None


def to_bool(value: Any, default: bool = False, name: str = "value") -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Invalid(f"{name} must be true or false")


async def _body(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.form(max_files=8, max_fields=MAX_FIELDS)
        except Exception as exc:  # the multipart parser raises several kinds
            raise BadRequest(f"cannot read the form body: {exc}") from None
        return nest(list(form.multi_items()))
    body = await request.body()
    if not body.strip():
        return {}
    if content_type == "application/json" or content_type.endswith("+json") or not content_type:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BadRequest("the body is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise Invalid("the JSON body must be an object")
        return parsed
    raise BadRequest(f"unsupported content type {content_type!r}")
