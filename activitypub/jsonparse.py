"""JSON parsing with a nesting limit.

Remote JSON is parsed by :func:`parse_json` only. Before the document reaches
the parser a pre-scan measures its bracket depth without recursion and
without a Python loop over every byte:

1. string literals are removed by one linear regular expression (possessive
   quantifiers, so an unterminated string cannot cause backtracking);
2. every byte except ``[]{}`` is deleted and ``{}`` become ``[]``, with one
   ``bytes.translate``;
3. innermost ``[]`` pairs are removed (``bytes.replace``) up to ``max_depth``
   times; each pass lowers the nesting by exactly one, so anything left over is
   deeper than the limit (or unbalanced, which the parser refuses anyway).

Each step runs in C over the whole buffer (cost: at most ``max_depth``
linear passes, so keep the limit in the tens), so a 100 000-deep document is
refused in a few milliseconds and no ``RecursionError`` can happen, here or
later in code that walks the result recursively. ``orjson`` then does the
actual parsing.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

__all__ = ["DEFAULT_MAX_DEPTH", "InvalidJSON", "JSONTooDeep", "json_depth_exceeds", "parse_json"]

DEFAULT_MAX_DEPTH = 64

_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
# Objects and arrays count alike; mismatched pairs are left for the parser to refuse.
_ONE_KIND = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class InvalidJSON(ValueError):
    """The input is not valid JSON text (or not UTF-8)."""


class JSONTooDeep(InvalidJSON):
    """Arrays and objects are nested deeper than the allowed depth."""


def json_depth_exceeds(data: bytes, max_depth: int) -> bool:
    """True when ``data`` nests arrays/objects deeper than ``max_depth`` or is unbalanced."""
    brackets = _STRING.sub(b"", data).translate(_ONE_KIND, _NOT_BRACKETS)
    if b"[" * (max_depth + 1) in brackets:
        return True
    for _ in range(max_depth):
        if not brackets:
            return False
        reduced = brackets.replace(b"[]", b"")
        if len(reduced) == len(brackets):
            return True
        brackets = reduced
    return bool(brackets)


def parse_json(data: bytes | str, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Parse JSON text, refusing nesting deeper than ``max_depth``.

    Raises :class:`JSONTooDeep` or :class:`InvalidJSON`; never RecursionError.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if json_depth_exceeds(raw, max_depth):
        raise JSONTooDeep(f"JSON nested deeper than {max_depth} levels (or unbalanced)")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"invalid JSON: {exc}") from None
