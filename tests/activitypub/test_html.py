"""Tests for activitypub.html: THREATS TC30 and plain-text rendering."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from activitypub.html import html_to_text, render_plain_text, sanitize_html

REL = 'target="_blank" rel="nofollow noopener noreferrer"'


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<script>alert(1)</script><p>hi</p>", "<p>hi</p>"),
        ("<p>a<script src=https://e.x/x.js></script>b</p>", "<p>ab</p>"),
        ("<img src=x onerror=alert(1)>", ""),
        (
            '<img src="https://e.x/a.png" onerror="alert(1)" alt="a cat">',
            f'<a href="https://e.x/a.png" {REL}>a cat</a>',
        ),
        (
            '<img src="https://e.x/a.png">',
            f'<a href="https://e.x/a.png" {REL}>https://e.x/a.png</a>',
        ),
        (
            '<a href="https://x.example"><img src="https://e.x/p.png" alt="pic"></a>',
            f'<a href="https://x.example" {REL}>pic</a>',
        ),
        ('<a href="javascript:alert(1)">x</a>', "x"),
        ('<a href=" jAvAsCrIpT:alert(1)">x</a>', "x"),
        ('<a href="java&#x09;script:alert(1)">x</a>', "x"),
        ('<a href="data:text/html,<script>alert(1)</script>">x</a>', "x"),
        ('<a href="vbscript:msgbox(1)">x</a>', "x"),
        ('<a href="/relative">r</a>', "r"),
        ('<iframe src="https://e.x/"></iframe>ok', "ok"),
        ("<iframe>inner</iframe>ok", "ok"),
        ("<style>p{color:red}</style>t", "t"),
        ("<svg onload=alert(1)><circle r=1 /></svg>t", "t"),
        ('<svg><a xlink:href="javascript:alert(1)">x</a></svg>t', "t"),
        ('<p style="color:red" onclick="alert(1)">s</p>', "<p>s</p>"),
        (
            '<a href="https://e.x/u" class="mention u-url evil">@u</a>',
            f'<a href="https://e.x/u" class="mention u-url" {REL}>@u</a>',
        ),
        (
            '<a href="https://e.x/u" rel="me" target="_top">u</a>',
            f'<a href="https://e.x/u" {REL}>u</a>',
        ),
        ('<form action="https://e.x/"><input name="a" value="v"><button>go</button></form>', "go"),
        ("<math><mi>x</mi><annotation>y</annotation></math>m", "m"),
        ("<!-- <script>alert(1)</script> -->c", "c"),
        ("<!--><script>alert(1)</script>-->", "--&gt;"),
        ("<!--[if IE]><script>alert(1)</script><![endif]-->c", "c"),
        ("<p>x</p><!--", "<p>x</p>"),
        ('<div><object data="https://e.x/x.swf">o</object>d</div>', "d"),
        ('<a href="gemini://g.example/">g</a>', f'<a href="gemini://g.example/" {REL}>g</a>'),
        (
            '<a href="magnet:?xt=urn:btih:abc">m</a>',
            f'<a href="magnet:?xt=urn:btih:abc" {REL}>m</a>',
        ),
        ('<a href="ftp://f.example/">f</a>', "f"),
        ("<h1>T</h1><h6>S</h6>", "<h1>T</h1>S"),
        ('<p class="x quote-inline">q</p>', "<p>q</p>"),
        (
            '<span class="h-card"><a href="https://x.example/@a" class="u-url mention">'
            "@<span>a</span></a></span>",
            '<span class="h-card"><a href="https://x.example/@a" class="u-url mention" '
            f"{REL}>@<span>a</span></a></span>",
        ),
        (
            '<a href="https://x.example/" title="t" lang="en">l</a>',
            f'<a href="https://x.example/" title="t" lang="en" {REL}>l</a>',
        ),
        (
            '<ol start="3" onmouseover="x()"><li value="3">a</li></ol>',
            '<ol start="3"><li value="3">a</li></ol>',
        ),
        (
            "<p>a<br>b</p><blockquote><pre><code>c</code></pre></blockquote>",
            "<p>a<br>b</p><blockquote><pre><code>c</code></pre></blockquote>",
        ),
    ],
)
def test_tc30_sanitizer(dirty: str, clean: str) -> None:
    assert sanitize_html(dirty) == clean


def test_sanitizer_handles_empty_and_non_strings() -> None:
    assert sanitize_html("") == ""
    assert sanitize_html(None) == ""  # type: ignore[arg-type]


_ON_ATTR = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)

html_alphabet = st.sampled_from(
    [
        "<",
        ">",
        "/",
        "=",
        '"',
        "'",
        " ",
        "a",
        "script",
        "img",
        "src",
        "href",
        "onerror",
        "onload",
        "javascript:",
        "JaVaScRiPt:",
        "&#x6a;",
        "&#106;",
        "svg",
        "iframe",
        "style",
        "<!--",
        "-->",
        "\t",
        "\n",
        "x",
        ":",
        "p",
        "math",
        "alert(1)",
        "&",
        ";",
        "data:",
        "<a ",
        "</a>",
        "`",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(html_alphabet, max_size=40).map("".join) | st.text(max_size=200))
def test_sanitizer_never_emits_active_content(text: str) -> None:
    out = sanitize_html(text)
    lowered = out.lower()
    assert "<script" not in lowered
    assert not _ON_ATTR.search(out)
    for href in re.findall(r'href="([^"]*)"', out):
        assert not href.strip().lower().startswith(("javascript:", "data:", "vbscript:"))
    # idempotent: cleaning clean output changes nothing
    assert sanitize_html(out) == out


def test_html_to_text() -> None:
    assert html_to_text("<p>a<br>b &amp; c</p><p>d</p><script>x</script>") == "a\nb & c\n\nd"
    assert html_to_text("<ul><li>one</li><li>two</li></ul>") == "one\n\ntwo"
    assert html_to_text("") == ""
    link = (
        '<a href="https://e.x/long"><span class="invisible">https://</span>'
        '<span class="ellipsis">e.x/long</span><span class="invisible"></span></a>'
    )
    assert html_to_text(link) == "https://e.x/long"


def _mention(user: str, domain: str | None) -> str | None:
    if user == "nobody":
        return None
    return f"https://{domain or 'cop.example'}/@{user}"


def _tag(name: str) -> str:
    return f"https://cop.example/tags/{name.lower()}"


def test_render_plain_text() -> None:
    result = render_plain_text(
        "Hi @alice and @bob@Remote.example, not @nobody!\n<b>&</b>\n\n\n#Python #123 x#y",
        resolve_mention=_mention,
        resolve_hashtag=_tag,
    )
    assert result.html == (
        '<p>Hi <span class="h-card"><a href="https://cop.example/@alice" class="u-url mention">'
        "@<span>alice</span></a></span> and "
        '<span class="h-card"><a href="https://Remote.example/@bob" class="u-url mention">'
        "@<span>bob</span></a></span>, not @nobody!<br>&lt;b&gt;&amp;&lt;/b&gt;</p>"
        '<p><a href="https://cop.example/tags/python" class="mention hashtag" rel="tag">'
        "#<span>Python</span></a> #123 x#y</p>"
    )
    assert [m.acct for m in result.mentions] == ["alice", "bob@remote.example"]
    assert result.hashtags == ("Python",)


def test_render_links() -> None:
    result = render_plain_text(
        "see https://example.com/a. and (https://example.com/b) javascript:alert(1)",
        resolve_mention=_mention,
        resolve_hashtag=_tag,
    )
    assert result.html == (
        '<p>see <a href="https://example.com/a" target="_blank" rel="nofollow noopener noreferrer"'
        ' translate="no"><span class="invisible">https://</span><span class="">example.com/a</span>'
        '<span class="invisible"></span></a>. and (<a href="https://example.com/b" target="_blank"'
        ' rel="nofollow noopener noreferrer" translate="no"><span class="invisible">https://</span>'
        '<span class="">example.com/b</span><span class="invisible"></span></a>)'
        " javascript:alert(1)</p>"
    )
    assert sanitize_html(result.html).count("<a ") == 2


def test_render_long_link_and_email_is_not_a_mention() -> None:
    url = "https://www.example.com/" + "x" * 40
    result = render_plain_text(
        f"{url} mail me: a@b.example", resolve_mention=_mention, resolve_hashtag=_tag
    )
    assert '<span class="invisible">https://www.</span>' in result.html
    assert '<span class="ellipsis">example.com/' in result.html
    assert result.mentions == ()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_rendered_text_is_already_clean(text: str) -> None:
    result = render_plain_text(text, resolve_mention=_mention, resolve_hashtag=_tag)
    assert "<script" not in result.html.lower()
    assert not _ON_ATTR.search(result.html)
