"""The part of RFC 8941 Structured Field Values that RFC 9421 and RFC 9530 need.

Dictionaries, inner lists, items and parameters; parsing is strict (anything
outside the grammar raises :class:`StructuredFieldError`, and a repeated dictionary
key is refused rather than overwritten, so two ``sig1`` labels cannot disagree) and
serialization is canonical, which is what ``@signature-params`` requires.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from typing import NamedTuple

__all__ = [
    "BareItem",
    "InnerList",
    "Item",
    "Params",
    "StructuredFieldError",
    "Token",
    "parse_dictionary",
    "serialize_inner_list",
    "serialize_item",
    "serialize_params",
]


class StructuredFieldError(ValueError):
    """The field value does not follow RFC 8941."""


class Token(str):
    """An RFC 8941 token (serialized without quotes)."""

    __slots__ = ()


BareItem = bool | int | float | str | bytes
Params = tuple[tuple[str, BareItem], ...]


class Item(NamedTuple):
    value: BareItem
    params: Params = ()

    def param(self, name: str) -> BareItem | None:
        return _lookup(self.params, name)


class InnerList(NamedTuple):
    items: tuple[Item, ...]
    params: Params = ()

    def param(self, name: str) -> BareItem | None:
        return _lookup(self.params, name)


def _lookup(params: Params, name: str) -> BareItem | None:
    for key, value in params:
        if key == name:
            return value
    return None


_KEY = re.compile(r"[a-z*][a-z0-9_.*-]*")
_TOKEN = re.compile(r"[A-Za-z*][A-Za-z0-9!#$%&'*+.^_`|~:/-]*")
_STRING = re.compile(r'"([ !#-\[\]-~]*(?:\\["\\][ !#-\[\]-~]*)*)"')
_UNESCAPE = re.compile(r'\\(["\\])')
_BYTES = re.compile(r":([A-Za-z0-9+/=]*):")
_NUMBER = re.compile(r"-?(\d{1,15})(?:\.(\d{1,3}))?")
_PRINTABLE = re.compile(r"[ -~]*")
#: An inner list of plain strings (no escapes, no item parameters): the usual case.
_PLAIN_LIST = re.compile(r'\((?: *"[ !#-\[\]-~]*")* *\)')
_PLAIN_MEMBER = re.compile(r'"([^"]*)"')
#: ``;key="plain string"`` or ``;key=integer``, the usual signature parameters.
_PLAIN_PARAM = re.compile(r'; *([a-z*][a-z0-9_.*-]*)=(?:"([ !#-\[\]-~]*)"|(-?\d{1,15})(?![\d.]))')


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def skip_sp(self) -> None:
        while self.text.startswith(" ", self.pos):
            self.pos += 1

    def skip_ows(self) -> None:
        while self.text.startswith((" ", "\t"), self.pos):
            self.pos += 1

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise StructuredFieldError(f"expected {char!r} at {self.pos}")
        self.pos += 1

    def dictionary(self) -> dict[str, Item | InnerList]:
        members: dict[str, Item | InnerList] = {}
        self.skip_sp()
        while self.pos < len(self.text):
            key = self.key()
            if key in members:
                raise StructuredFieldError(f"duplicate dictionary key {key!r}")
            if self.peek() == "=":
                self.pos += 1
                members[key] = self.item_or_inner_list()
            else:
                members[key] = Item(True, self.params())
            self.skip_ows()
            if self.pos >= len(self.text):
                break
            self.expect(",")
            self.skip_ows()
            if self.pos >= len(self.text):
                raise StructuredFieldError("trailing comma")
        return members

    def item_or_inner_list(self) -> Item | InnerList:
        if self.peek() == "(":
            return self.inner_list()
        return Item(self.bare_item(), self.params())

    def inner_list(self) -> InnerList:
        plain = _PLAIN_LIST.match(self.text, self.pos)
        if plain is not None:
            self.pos = plain.end()
            members = tuple(Item(value) for value in _PLAIN_MEMBER.findall(plain.group()))
            return InnerList(members, self.params())
        self.expect("(")
        items: list[Item] = []
        while True:
            self.skip_sp()
            if self.peek() == ")":
                self.pos += 1
                return InnerList(tuple(items), self.params())
            items.append(Item(self.bare_item(), self.params()))
            if self.peek() not in (" ", ")"):
                raise StructuredFieldError(f"bad inner list at {self.pos}")

    def params(self) -> Params:
        params: dict[str, BareItem] = {}
        text = self.text
        while text.startswith(";", self.pos):
            plain = _PLAIN_PARAM.match(text, self.pos)
            if plain is not None:
                key, string_value, integer = plain.groups()
                self.pos = plain.end()
                params[key] = string_value if string_value is not None else int(integer)
                continue
            self.pos += 1
            self.skip_sp()
            key = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            params[key] = value
        return tuple(params.items())

    def key(self) -> str:
        match = _KEY.match(self.text, self.pos)
        if match is None:
            raise StructuredFieldError(f"bad key at {self.pos}")
        self.pos = match.end()
        return match.group()

    def bare_item(self) -> BareItem:
        char = self.peek()
        if char == '"':
            return self.string()
        if char == ":":
            return self.byte_sequence()
        if char == "?":
            return self.boolean()
        if char == "-" or (char and char.isdigit()):
            return self.number()
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            raise StructuredFieldError(f"bad item at {self.pos}")
        self.pos = match.end()
        return Token(match.group())

    def string(self) -> str:
        match = _STRING.match(self.text, self.pos)
        if match is None:
            raise StructuredFieldError(f"bad string at {self.pos}")
        self.pos = match.end()
        content = match.group(1)
        return _UNESCAPE.sub(r"\1", content) if "\\" in content else content

    def byte_sequence(self) -> bytes:
        match = _BYTES.match(self.text, self.pos)
        if match is None:
            raise StructuredFieldError(f"bad byte sequence at {self.pos}")
        self.pos = match.end()
        try:
            return base64.b64decode(match.group(1), validate=True)
        except binascii.Error as exc:
            raise StructuredFieldError("bad base64 in byte sequence") from exc

    def boolean(self) -> bool:
        self.expect("?")
        char = self.peek()
        if char not in ("0", "1") or not char:
            raise StructuredFieldError("bad boolean")
        self.pos += 1
        return char == "1"

    def number(self) -> int | float:
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            raise StructuredFieldError(f"bad number at {self.pos}")
        following = self.text[match.end() : match.end() + 1]
        if following.isdigit() or following == ".":
            raise StructuredFieldError("bad number")
        self.pos = match.end()
        if match.group(2) is not None:
            if len(match.group(1)) > 12:
                raise StructuredFieldError("bad decimal")
            return float(match.group())
        return int(match.group())


#: ``label=:base64:``, the usual ``Signature`` and ``Content-Digest`` value.
_SINGLE_BYTES_MEMBER = re.compile(r" *([a-z*][a-z0-9_.*-]*)=:([A-Za-z0-9+/=]*): *")


def parse_dictionary(text: str) -> dict[str, Item | InnerList]:
    """Parse an RFC 8941 dictionary; members keep their order."""
    single = _SINGLE_BYTES_MEMBER.fullmatch(text)
    if single is not None:
        try:
            value = base64.b64decode(single.group(2), validate=True)
        except binascii.Error as exc:
            raise StructuredFieldError("bad base64 in byte sequence") from exc
        return {single.group(1): Item(value)}
    parser = _Parser(text)
    members = parser.dictionary()
    if parser.pos != len(text.rstrip(" ")):
        raise StructuredFieldError("unexpected trailing text")
    return members


def _serialize_bare(value: BareItem) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.1f}"
    if isinstance(value, Token):
        return str(value)
    if isinstance(value, str):
        if _PRINTABLE.fullmatch(value) is None:
            raise StructuredFieldError("string not serializable")
        if "\\" in value or '"' in value:
            value = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{value}"'
    return ":" + base64.b64encode(value).decode("ascii") + ":"


def serialize_params(params: Params) -> str:
    return "".join(
        f";{key}" if value is True else f";{key}={_serialize_bare(value)}" for key, value in params
    )


@functools.lru_cache(maxsize=512)
def serialize_item(item: Item) -> str:
    return _serialize_bare(item.value) + serialize_params(item.params)


def serialize_inner_list(inner: InnerList) -> str:
    return ("(" + " ".join(serialize_item(item) for item in inner.items) + ")") + serialize_params(
        inner.params
    )
