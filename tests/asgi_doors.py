"""Apps and checkers for the tests of the doors of the ASGI middleware.

A FastAPI app serving data over HTTP and a WebSocket behind
:class:`~cave_auth.service.asgi.AuthASGIMiddleware`, and a checker whose
fake auth server knows two tokens.
"""

from __future__ import annotations

from fastapi import FastAPI, WebSocket
from fastapi import Request as FastAPIRequest
from starlette.responses import JSONResponse

from cave_auth.service import Checker, Settings, TransportLookups
from cave_auth.service.asgi import AuthASGIMiddleware
from cave_auth.testing import FakeTransport, json_response

API = "/auth/api/v1"
USER = {"id": 5, "groups": []}
TOS_USER = {
    "id": 6,
    "groups": [],
    "permissions_v2": {},
    "missing_tos": [{"dataset_name": "ds", "tos_id": 3, "tos_name": "Terms"}],
}


def door_checker(fake_status=None, **settings):
    """Return a checker knowing "good" (user 5) and "tos" (user 6, terms not accepted).

    ``settings`` are further fields of its :class:`Settings`.
    """

    def cache(request):
        if fake_status is not None:
            return json_response({"error": "down"}, status=fake_status)
        known = {"good": USER, "tos": TOS_USER}
        if request.token in known:
            return known[request.token]
        return json_response({"error": "invalid_token"}, status=401)

    fake = FakeTransport({("GET", API + "/user/cache"): cache})
    service = Settings("https://auth.example.org/auth", **settings)
    return Checker(service, TransportLookups(service.auth_url, fake))


def door_api(checker, **middleware):
    """Return a FastAPI app serving data over HTTP and a WebSocket, protected."""
    api = FastAPI()

    @api.api_route("/data", methods=["GET", "OPTIONS"])
    def data(request: FastAPIRequest):
        user = getattr(request.state, "auth_user", None)
        return {"secret": "data", "user": user and user["id"]}

    async def page(request):
        return JSONResponse({"secret": "data"})

    api.add_route("/page", page, methods=["GET"])  # Starlette's: HEAD runs it too

    @api.websocket("/ws")
    async def socket(websocket: WebSocket):
        await websocket.accept()
        user = getattr(websocket.state, "auth_user", None)
        await websocket.send_json({"secret": "data", "user": user and user["id"]})
        await websocket.close()

    api.add_middleware(AuthASGIMiddleware, checker=checker, **middleware)
    return api
