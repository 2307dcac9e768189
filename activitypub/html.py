"""HTML in and out: sanitising remote HTML and rendering local plain text.

Remote HTML is cleaned with an allow-list equivalent to Mastodon's strict
configuration (``Sanitize::Config::MASTODON_STRICT``), using nh3:

* tags: p br span a abbr del pre blockquote code b strong u sub sup i em
  h1-h5 ul ol li; everything else is unwrapped (its text kept), except the
  contents of script, style, iframe, noscript, template and object, which are
  dropped with the element;
* ``a`` keeps ``href``, ``class`` and ``title``, always gets
  ``rel="nofollow noopener noreferrer"`` and ``target="_blank"``; a link whose
  scheme is not in :data:`LINK_PROTOCOLS` (or that is relative) becomes its text;
* ``class`` values are filtered to microformats (``h-*``, ``p-*``, ``u-*``,
  ``e-*``, ``dt-*``) and ``mention``, ``hashtag``, ``ellipsis``, ``invisible``;
* ``img`` becomes a link to its ``src`` (http/https only) labelled with its
  ``alt`` text, so readers see that an image was there without the server
  loading remote images into pages (inside a link it becomes its alt text).
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Final

import nh3

__all__ = [
    "ALLOWED_TAGS",
    "LINK_PROTOCOLS",
    "Mention",
    "RenderedText",
    "html_to_text",
    "render_plain_text",
    "sanitize_html",
]

ALLOWED_TAGS: Final = frozenset(
    {
        "p", "br", "span", "a", "abbr", "del", "pre", "blockquote", "code",
        "b", "strong", "u", "sub", "sup", "i", "em",
        "h1", "h2", "h3", "h4", "h5", "ul", "ol", "li",
    }
)  # fmt: skip

# Mastodon lib/sanitize_ext/sanitize_config.rb, LINK_PROTOCOLS.
LINK_PROTOCOLS: Final = frozenset(
    {"http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini"}
)

_DROP_WITH_CONTENT: Final = frozenset(
    {"script", "style", "iframe", "noscript", "template", "object"}
)

_ATTRIBUTES: Final[dict[str, set[str]]] = {
    "*": {"lang"},
    "a": {"href", "class", "title"},
    "abbr": {"title"},
    "span": {"class"},
    "p": {"class"},
    "ol": {"start", "reversed"},
    "li": {"value"},
}

_CLASS_RE: Final = re.compile(r"^(?:(?:h|p|u|dt|e)-.+|mention|hashtag|ellipsis|invisible)$")
_LINK_REL: Final = "nofollow noopener noreferrer"


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        kept = [c for c in re.split(r"[\t\n\f\r ]+", value) if c and _CLASS_RE.match(c)]
        return " ".join(kept) or None
    return value


_FIRST_PASS: Final = nh3.Cleaner(
    tags=set(ALLOWED_TAGS | {"img"}),
    clean_content_tags=set(_DROP_WITH_CONTENT),
    attributes={**_ATTRIBUTES, "img": {"src", "alt"}},
    attribute_filter=_attribute_filter,
    strip_comments=True,
    link_rel=None,
    url_schemes=set(LINK_PROTOCOLS),
    url_relative="deny",
)

_SECOND_PASS: Final = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(_DROP_WITH_CONTENT),
    attributes=_ATTRIBUTES,
    attribute_filter=_attribute_filter,
    strip_comments=True,
    link_rel=_LINK_REL,
    set_tag_attribute_values={"a": {"target": "_blank"}},
    url_schemes=set(LINK_PROTOCOLS),
    url_relative="deny",
)

# nh3 output is normalised: lower-case names, double-quoted attribute values
# with ", <, > and & escaped.  These patterns rely on that.
_TOKEN_RE: Final = re.compile(r'<(/?)(a|img)\b((?:[^>"]|"[^"]*")*)>')
_ATTR_RE: Final = re.compile(r'([a-z][a-z0-9_-]*)="([^"]*)"')
_ANCHOR_RE: Final = re.compile(r'<a\b((?:[^>"]|"[^"]*")*)>(.*?)</a>', re.DOTALL)


def _attrs(text: str) -> dict[str, str]:
    return {name: _html.unescape(value) for name, value in _ATTR_RE.findall(text)}


def _replace_images(fragment: str) -> str:
    out: list[str] = []
    pos = 0
    in_link = 0
    for match in _TOKEN_RE.finditer(fragment):
        out.append(fragment[pos : match.start()])
        pos = match.end()
        closing, tag, rest = match.groups()
        if tag == "a":
            in_link = max(0, in_link + (-1 if closing else 1))
            out.append(match.group(0))
            continue
        attrs = _attrs(rest)
        src = attrs.get("src", "")
        alt = attrs.get("alt", "").strip()
        if in_link or not src.lower().startswith(("http://", "https://")):
            out.append(_html.escape(alt, quote=False))
        else:
            label = _html.escape(alt or src, quote=False)
            out.append(f'<a href="{_html.escape(src)}">{label}</a>')
    out.append(fragment[pos:])
    return "".join(out)


def _unwrap_dead_links(fragment: str) -> str:
    def repl(match: re.Match[str]) -> str:
        return match.group(0) if "href" in _attrs(match.group(1)) else match.group(2)

    return _ANCHOR_RE.sub(repl, fragment)


_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")


def sanitize_html(fragment: str) -> str:
    """Clean remote HTML (``content``, ``summary``, bios) for display."""
    if not isinstance(fragment, str) or not fragment:
        return ""
    # A lone surrogate (a \ud800 escape read by a lenient JSON parser) is not UTF-8: nh3 raises.
    fragment = _SURROGATE_RE.sub("\ufffd", fragment)
    first = _replace_images(_FIRST_PASS.clean(fragment))
    return _unwrap_dead_links(_SECOND_PASS.clean(first))


# --- HTML to plain text -----------------------------------------------------

_BLOCKS: Final = frozenset(
    {"p", "div", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6"}
)
_SKIP: Final = frozenset({"script", "style", "template", "noscript", "iframe", "object"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def _block_break(self) -> None:
        if self.parts and not self.parts[-1].endswith("\n\n"):
            self.parts.append("\n\n" if not self.parts[-1].endswith("\n") else "\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self._block_break()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCKS:
            self._block_break()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain text for previews, notifications and titles (paragraphs as blank lines)."""
    if not isinstance(fragment, str) or not fragment:
        return ""
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\r\f\v]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


# --- plain text to HTML -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mention:
    username: str
    domain: str | None
    href: str

    @property
    def acct(self) -> str:
        return f"{self.username}@{self.domain}" if self.domain else self.username


@dataclass(frozen=True, slots=True)
class RenderedText:
    html: str
    mentions: tuple[Mention, ...]
    hashtags: tuple[str, ...]


MentionResolver = Callable[[str, str | None], str | None]
HashtagResolver = Callable[[str], str]

_URL_PATTERN: Final = r"https?://[^\s<>\"'`]+"
_MENTION_PATTERN: Final = (
    r"(?<![\w@/.=])@(?P<user>[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)"
    r"(?:@(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+(?::[0-9]{1,5})?))?"
)
_HASHTAG_PATTERN: Final = r"(?<![\w#&/])#(?P<tag>\w*[^\W\d_]\w*)"
_TOKENS_RE: Final = re.compile(
    f"(?P<url>{_URL_PATTERN})|(?P<mention>{_MENTION_PATTERN})|(?P<hashtag>{_HASHTAG_PATTERN})"
)
_TRAILING_PUNCT: Final = ".,;:!?'\""


def _trim_url(url: str) -> str:
    while url and url[-1] in _TRAILING_PUNCT:
        url = url[:-1]
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1]
    return url


def _link_html(url: str) -> str:
    scheme, _, rest = url.partition("://")
    prefix = scheme + "://"
    if rest.startswith("www."):
        prefix, rest = prefix + "www.", rest[4:]
    display, hidden = (rest[:30], rest[30:]) if len(rest) > 30 else (rest, "")
    esc = _html.escape
    return (
        f'<a href="{esc(url)}" target="_blank" rel="{_LINK_REL}" translate="no">'
        f'<span class="invisible">{esc(prefix)}</span>'
        f'<span class="{"ellipsis" if hidden else ""}">{esc(display)}</span>'
        f'<span class="invisible">{esc(hidden)}</span></a>'
    )


def _render_line(
    line: str,
    resolve_mention: MentionResolver,
    resolve_hashtag: HashtagResolver,
    mentions: dict[str, Mention],
    hashtags: dict[str, str],
) -> str:
    out: list[str] = []
    pos = 0
    for match in _TOKENS_RE.finditer(line):
        start = match.start()
        if match.group("url"):
            url = _trim_url(match.group("url"))
            end = start + len(url)
            rendered = _link_html(url)
        elif match.group("mention"):
            end = match.end()
            user, domain = match.group("user"), match.group("domain")
            href = resolve_mention(user, domain)
            if href is None:
                continue
            mention = Mention(user, domain.lower() if domain else None, href)
            mentions.setdefault(mention.acct.lower(), mention)
            rendered = (
                f'<span class="h-card"><a href="{_html.escape(href)}" class="u-url mention">'
                f"@<span>{_html.escape(user)}</span></a></span>"
            )
        else:
            end = match.end()
            tag = match.group("tag")
            href = resolve_hashtag(tag)
            hashtags.setdefault(tag.lower(), tag)
            rendered = (
                f'<a href="{_html.escape(href)}" class="mention hashtag" rel="tag">'
                f"#<span>{_html.escape(tag)}</span></a>"
            )
        out.append(_html.escape(line[pos:start], quote=False))
        out.append(rendered)
        out.append(_html.escape(line[end : match.end()], quote=False))
        pos = match.end()
    out.append(_html.escape(line[pos:], quote=False))
    return "".join(out)


def render_plain_text(
    text: str,
    *,
    resolve_mention: MentionResolver,
    resolve_hashtag: HashtagResolver,
) -> RenderedText:
    """Turn a local user's plain text into Mastodon-style HTML.

    Blank lines separate paragraphs, single newlines become ``<br>``; http(s)
    URLs are linked; ``@user`` / ``@user@domain`` become mentions when
    ``resolve_mention(user, domain)`` returns a profile URL (else they stay
    text); ``#tag`` becomes a hashtag link to ``resolve_hashtag(tag)``.
    """
    mentions: dict[str, Mention] = {}
    hashtags: dict[str, str] = {}
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    paragraphs = [p for p in re.split(r"\n[ \t]*\n+", normalised) if p.strip()]
    html_paragraphs = [
        "<p>"
        + "<br>".join(
            _render_line(line, resolve_mention, resolve_hashtag, mentions, hashtags)
            for line in paragraph.strip("\n").split("\n")
        )
        + "</p>"
        for paragraph in paragraphs
    ]
    return RenderedText(
        html="".join(html_paragraphs),
        mentions=tuple(mentions.values()),
        hashtags=tuple(hashtags.values()),
    )
