"""HTML pages of the fake server: the token page, the login start, the ToS form.

This module does no I/O. The real server renders Jinja templates; the fake
serves small pages that carry the recorded key lines (section 15 and 17 of the
reference), not byte-exact copies:

* ``/sticky_auth/settings/tokens``: ``<span>Name - email</span``, one
  ``token: ...`` item with a ``data-token-id`` per API key, the
  ``middle_auth_url`` and the ``...-cave-secret.json`` file name;
* ``/sticky_auth/api/v1/authorize``: a 302 to Google's OAuth page (a dummy
  client id, a random ``state``, a ``session`` cookie), or that URL as text for
  ``X-Requested-With``; there is no OAuth flow behind it;
* ``/sticky_auth/api/v1/tos/<id>/accept``: the acceptance form (GET), and the
  acceptance itself (POST), which answers the recorded 500
  (``TemplateNotFound``) the first time, the "already accepted" page after, and
  with ``?client=ng`` the ``postMessage`` script.

Views take the same arguments as those of the ``views_*`` modules.
"""

from __future__ import annotations

import html
import secrets
import string
from datetime import timedelta
from typing import Final
from urllib.parse import quote

from .backend import Backend
from .guards import Caller
from .messages import (
    AppRequest,
    AppResponse,
    error_page,
    http_date,
    now,
    redirect,
    text,
)
from .seed import FakeTos

_PAGE_TOKENS: Final = string.Template("""\


<html translate="no">
  <head>
    <meta charset="utf-8" />
    <title>API Tokens</title>
  </head>
  <body>
    <nav>
        <span>$user_label</span
        >
    </nav>
    <main>
      <h4>API Tokens</h4>
      <ul class="collection">
$items      </ul>
      <button id="create">Create new token</button>
    </main>
    <script>
      function createToken(description) {
        return fetch("../api/v1/user/token", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ description: description }),
        });
      }
      function deleteToken(id) {
        return fetch("../api/v1/user/token/" + id, { method: "DELETE" });
      }
      function downloadToken(tokenValue, description) {
        const data = {
            token: tokenValue,
            description: description,
            middle_auth_url: "$auth_url",
        };
        const link = document.createElement("a");
        link.href = URL.createObjectURL(
          new Blob([JSON.stringify(data)], { type: "application/json" })
        );
        link.download =
          "$auth_url-cave-secret.json";
        link.click();
      }
    </script>
  </body>
</html>
""")

_PAGE_TOKEN_ITEM: Final = string.Template("""\
        <li class="collection-item">
            <div><span>token: $token</span></div>
            <div><span>description: $description</span></div>
            <button
              class="delete-token"
              data-token-id="$id"
            >delete</button>
        </li>
""")

_PAGE_TOS_FORM: Final = string.Template("""\
<html>
  <head>
    <base target="_blank" />
    <title>$name</title>
  </head>
  <body>
    <h2>$name's Terms of Service</h2>
    <span
      >Before you can access $name, you need to accept its Terms of
      Service.</span
    >
    <form
      id="form"
      action="accept"
      method="POST"
    >
      <div>
        <input type="checkbox" id="checkbox-1" />
        <label for="checkbox-1">$text</label>
      </div>

      <button id="register" class="mdc-button mdc-button--unelevated" disabled>
        Accept
      </button>
    </form>
  </body>
</html>
""")

_PAGE_MSG: Final = string.Template("""\
<html>
    <head>
        <base target="_blank">
        <title>$title</title>
    </head>
    <body>
        <h2>$title</h1>
        <span>$msg</span>
    </body>
</html>
""")

_PAGE_POST_MESSAGE: Final = """<script type="text/javascript">
        if (window.opener) {
            window.opener.postMessage("success", "*");
        }
        </script>"""


def tokens_page(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /sticky_auth/settings/tokens``: the HTML token page."""
    keys = sorted(
        (k for k in backend.keys.values() if k.user_id == caller.user.id),
        key=lambda k: -k.id,
    )
    items = "".join(
        _PAGE_TOKEN_ITEM.substitute(
            token=html.escape(k.token),
            description=html.escape(k.description or ""),
            id=k.id,
        )
        for k in keys
    )
    user = caller.user
    page = _PAGE_TOKENS.substitute(
        user_label=html.escape(f"{user.custom_name or user.name} - {user.email}"),
        items=items,
        auth_url=f"{backend.netloc}/auth",
    )
    return AppResponse(200, page.encode())


def authorize(backend: Backend, req: AppRequest, params: dict[str, str]) -> AppResponse:
    """``/sticky_auth/api/v1/authorize``: the start of the Google login."""
    callback = quote(f"https://{backend.sticky_url}/api/v1/oauth2callback", safe="")
    state = "".join(
        secrets.choice(string.ascii_letters + string.digits) for _ in range(30)
    )
    url = (
        "https://accounts.google.com/o/oauth2/auth?response_type=code"
        "&client_id=dummy-client-id.apps.googleusercontent.com"
        f"&redirect_uri={callback}"
        "&scope=openid+https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fuserinfo.email"
        "+https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fuserinfo.profile"
        f"&state={state}&access_type=offline&include_granted_scopes=true"
        "&prompt=consent"
    )
    programmatic = bool(req.headers.get("x-requested-with"))
    response = text(200, url) if programmatic else redirect(url)
    response.late_headers = _session_cookie()
    return response


def _session_cookie() -> list[tuple[str, str]]:
    """The headers of a Flask response that has modified the session."""
    expires = http_date(now() + timedelta(days=31))
    cookie = f"session={secrets.token_urlsafe(32)}; Expires={expires}; HttpOnly; Path=/"
    return [("Vary", "Cookie"), ("Set-Cookie", cookie)]


def tos_form(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /sticky_auth/api/v1/tos/<id>/accept``: the acceptance form."""
    tos = backend.terms.get(int(params["id"]))
    if tos is None:
        response = text(404, "Terms of Service does not exist")
    elif tos.id in caller.user.accepted_tos:
        response = _already_accepted(tos)
    else:
        page = _PAGE_TOS_FORM.substitute(
            name=html.escape(tos.name, quote=False), text=tos.text
        )
        response = AppResponse(200, page.encode())
    response.late_headers = _session_cookie()
    return response


def tos_accept(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``POST /sticky_auth/api/v1/tos/<id>/accept``: accept (500 as recorded)."""
    tos = backend.terms.get(int(params["id"]))
    if tos is None:
        return text(404, "Terms of Service does not exist")
    if tos.id in caller.user.accepted_tos:
        return _already_accepted(tos)
    caller.user.accepted_tos.append(tos.id)
    if req.args.get("client") == "ng":
        return AppResponse(200, _PAGE_POST_MESSAGE.encode())
    return error_page(500)  # TemplateNotFound: msg.html, after the commit


def _already_accepted(tos: FakeTos) -> AppResponse:
    """The ``msg.jinja`` page for a ToS accepted before."""
    page = _PAGE_MSG.substitute(
        title=html.escape(f"{tos.name}'s Terms of Service", quote=False),
        msg="You have already accepted the Terms of Service",
    )
    return AppResponse(200, page.encode())
