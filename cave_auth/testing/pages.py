"""HTML pages of the fake server: the token page, the login, the ToS form.

This module does no I/O. The real server renders Jinja templates; the fake
serves small pages that carry the recorded key lines (section 15 and 17 of the
reference), not byte-exact copies, except where noted:

* ``/sticky_auth/settings/tokens``: ``<span>Name - email</span``, one
  ``token: ...`` item with a ``data-token-id`` per API key, the
  ``middle_auth_url`` and the ``...-cave-secret.json`` file name;
* ``/sticky_auth/api/v1/authorize``: stands in for Google. It signs in the
  backend's ``login_user_id`` at once and answers as ``finish_auth_flow`` does
  after Google (``middle_auth-admin-api.md`` section 43): a 302 to ``redirect``
  with ``middle_auth_token``, ``middle_auth_url`` and ``token`` merged into its
  query the way yarl's ``update_query`` merges them (the URL's own query
  survives, a parameter of the same name is replaced in place and its repeats
  dropped, the fragment is kept), with the ``middle_auth_token`` cookie. The
  token is a new login-style token. For ``X-Requested-With`` the same URL is
  the 200 text body (the real server gives Google's URL there). ``tos_id``
  sends the browser to the ToS form instead, losing ``redirect`` as on the
  real server. Without a redirect the answer is the byte-exact ``postMessage``
  page that hands the token and the app URLs to ``window.opener``. With no
  ``login_user_id`` the answer is the recorded 302 to Google's OAuth page (a
  dummy client id, a random ``state``), with no OAuth flow behind it. Every
  answer sets a ``session`` cookie;
* ``/sticky_auth/api/v1/tos/<id>/accept``: the acceptance form (GET), and the
  acceptance itself (POST), which answers the recorded 500
  (``TemplateNotFound``) the first time, the "already accepted" page after, and
  with ``?client=ng`` the ``postMessage`` script.

Views take the same arguments as those of the ``views_*`` modules.
"""

from __future__ import annotations

import html
import json
import secrets
import string
from datetime import timedelta
from typing import Final
from urllib.parse import quote, unquote_plus

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

_PAGE_LOGIN_MESSAGE: Final = string.Template("""<script type="text/javascript">
        if (window.opener) {
            window.opener.postMessage($message, "*");
        }
        </script>""")

#: Characters yarl leaves unquoted in a query value.
_QUERY_SAFE: Final = "/?:@!$'()*,~"


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
    """``/sticky_auth/api/v1/authorize``: a login, Google standing aside."""
    user_id = backend.login_user_id
    if user_id is None or user_id not in backend.users:
        return _to_google(backend, req)
    token = backend.new_login_token(user_id)
    programmatic = bool(req.headers.get("x-requested-with"))
    tos_id, target = req.args.get("tos_id"), req.args.get("redirect")
    if tos_id:
        location: str | None = f"/sticky_auth/api/v1/tos/{tos_id}/accept"
    elif target:
        location = with_login_query(
            target,
            [
                ("middle_auth_token", token),
                ("middle_auth_url", backend.sticky_url),
                ("token", token),
            ],
        )
    else:
        location = None
    if location is None:
        message = json.dumps({"token": token, "app_urls": backend.apps})
        response = AppResponse(
            200, _PAGE_LOGIN_MESSAGE.substitute(message=message).encode()
        )
    elif programmatic:
        response = text(200, location)
    else:
        response = redirect(location)
        cookie = f"middle_auth_token={token}; Secure; HttpOnly; Path=/"
        response.headers.append(("Set-Cookie", cookie))
    if programmatic and req.headers.get("origin"):
        response.headers.append(("Access-Control-Allow-Credentials", "true"))
    response.late_headers = _session_cookie()
    return response


def with_login_query(url: str, values: list[tuple[str, str]]) -> str:
    """``str(yarl.URL(url) % dict(values))``: merge parameters into a URL's query.

    Args:
        url: The redirect URL, query and fragment included.
        values: Parameters to set, in order.

    Returns:
        The URL with each parameter replacing the first of its name in place
        (later ones of that name dropped) or appended, the fragment kept.
    """
    base, hash_mark, fragment = url.partition("#")
    path, _, query = base.partition("?")
    wanted = dict(values)
    done: set[str] = set()
    parts: list[str] = []
    for part in query.split("&"):
        if not part:
            continue
        name = unquote_plus(part.partition("=")[0])
        if name not in wanted:
            parts.append(part)
        elif name not in done:
            parts.append(f"{name}={quote(wanted[name], safe=_QUERY_SAFE)}")
            done.add(name)
    parts += [
        f"{name}={quote(value, safe=_QUERY_SAFE)}"
        for name, value in values
        if name not in done
    ]
    return f"{path}?{'&'.join(parts)}{hash_mark}{fragment}"


def _to_google(backend: Backend, req: AppRequest) -> AppResponse:
    """The recorded start of a Google login, with no OAuth flow behind it."""
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
