"""HTML pages of the OAuth authorization flow: sign in and consent, the out-of-band code, errors.

Every value is escaped with :func:`html.escape`; the pages carry no script, may
not be framed (the consent button must not be clickjacked) and are never cached.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

from starlette.responses import HTMLResponse

# No form-action directive: browsers apply it to the redirect that follows the
# form, which goes to the app's own redirect URI.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;
color:#222;background:#fafafa}
h1{font-size:1.4rem}main{background:#fff;border:1px solid #ddd;border-radius:8px;padding:1.5rem}
label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;
padding:.5rem;box-sizing:border-box}ul{padding-left:1.2rem}.error{color:#a00;font-weight:bold}
.actions{margin-top:1.2rem;display:flex;gap:.6rem}button{padding:.5rem 1rem}
code{display:block;padding:.8rem;background:#eee;word-break:break-all;font-size:1.1rem}
"""

_SCOPE_TEXT = {
    "read": "Read all your account's data",
    "write": "Change all your account's data: post, favourite, boost, edit your profile",
    "follow": "Follow, block and mute accounts and join communities",
    "push": "Receive your push notifications",
    "profile": "Read only your profile (name, handle and picture)",
}


def describe_scope(scope: str) -> str:
    if scope in _SCOPE_TEXT:
        return _SCOPE_TEXT[scope]
    parts = scope.split(":")
    if parts[0] == "admin":
        verb = "Read" if parts[1:2] == ["read"] else "Administer"
        what = parts[2].replace("_", " ") if len(parts) > 2 else "the whole instance"
        return f"Administration: {verb.lower()} {what}"
    verb = "Read" if parts[0] == "read" else "Change"
    return f"{verb} your {parts[1].replace('_', ' ')}" if len(parts) > 1 else scope


def _page(
    title: str, body: str, status: int, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    document = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
    return HTMLResponse(
        document, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})}
    )


def authorize_page(
    *,
    instance: str,
    app_name: str,
    website: str | None,
    scopes: Iterable[str],
    hidden: Mapping[str, str],
    username: str = "",
    error: str | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The sign-in and consent form; posts back to ``/oauth/authorize``."""
    app_html = f"<strong>{escape(app_name)}</strong>"
    if website and website.startswith(("https://", "http://")):
        app_html += (
            f' (<a href="{escape(website)}" rel="noopener noreferrer">{escape(website)}</a>)'
        )
    items = "".join(
        f'<li><code style="display:inline;padding:0;background:none;font-size:inherit">'
        f"{escape(scope)}</code>: {escape(describe_scope(scope))}</li>"
        for scope in scopes
    )
    fields = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in hidden.items()
    )
    error_html = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f"<h1>Authorize {escape(app_name)}</h1>"
        f"<p>{app_html} asks to use your account on {escape(instance)}. It will be able to:</p>"
        f"<ul>{items}</ul>{error_html}"
        '<form method="post" action="/oauth/authorize">'
        f"{fields}"
        '<label for="username">Username or e-mail address</label>'
        f'<input type="text" id="username" name="username" value="{escape(username)}" '
        'autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus>'
        '<label for="password">Password</label>'
        '<input type="password" id="password" name="password" '
        'autocomplete="current-password" required>'
        '<div class="actions">'
        '<button type="submit" name="decision" value="approve">Authorize</button>'
        '<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>'
        "</div></form>"
    )
    return _page(f"Authorize {app_name}", body, status, headers)


def code_page(app_name: str, code: str) -> HTMLResponse:
    """The out-of-band result: the code to copy into the app."""
    body = (
        "<h1>Authorization code</h1>"
        f"<p>Copy this code and paste it into {escape(app_name)}:</p>"
        f'<code id="authorization-code">{escape(code)}</code>'
        "<p>It works once, within ten minutes.</p>"
    )
    return _page("Authorization code", body, 200)


def message_page(title: str, message: str, status: int) -> HTMLResponse:
    """An error or a notice, shown where no app can be redirected to."""
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>", status)
