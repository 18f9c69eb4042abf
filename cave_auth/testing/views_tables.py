"""JSON views of the fake server that a service asks: tables and public roots.

This module does no I/O. It answers what ``middle_auth_client`` (and
:mod:`cave_auth.service`) ask the auth server about a request's resource,
with the shapes and status codes of sections 39 and 40 of the second part of
the reference (``middle_auth-admin-api.md``):

* ``GET /service/<s>/table/<t>/dataset``: the dataset's name as a bare JSON
  string, from the exact (service, table) mapping, or 404
  ``No dataset for given service and table names``; ``POST`` and ``DELETE``
  ``.../dataset/<d>`` (superadmin) map and unmap a table, finding the dataset
  by case-insensitive substring (the first, by id, whose name contains
  ``d``): 404 ``Dataset does not exist.`` when none does, ``POST`` 422
  ``Table mapping already exists.``, ``DELETE`` ``"success"`` whether or not
  the mapping existed;
* ``GET /table/<t>/has_public`` and ``.../root/<int:r>/is_public``: bare
  ``true``/``false`` (an unknown table is simply ``false``);
  ``GET /table/<t>/get_public_roots``: a list of 64-bit root ids;
* ``POST /table/<t>/root_all_public``: a JSON list of root ids (numbers, or
  strings of digits) answers whether the count of distinct public rows
  equals the list's length, so a repeated id answers ``false``; an empty list
  or a non-list is 400 ``{"error":"missing_root_ids"}``, a non-numeric string
  in the list a 500, a body without ``Content-Type: application/json`` a 415.

Every view is a function ``(backend, req, caller, params) -> AppResponse``,
as in the other ``views_*`` modules; names in the path are percent-decoded,
as werkzeug decodes them.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

from .backend import Backend
from .guards import Caller
from .messages import JSON, AppRequest, AppResponse, error_page, jsonify, text
from .seed import FakeServiceTable

__all__ = [
    "delete_table_dataset",
    "has_public",
    "is_public",
    "map_table_dataset",
    "public_roots",
    "root_all_public",
    "table_dataset",
]


def table_dataset(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /service/<service>/table/<table>/dataset``."""
    dataset = backend.dataset_of_table(
        unquote(params["service"]), unquote(params["table"])
    )
    if dataset is None:
        return text(404, "No dataset for given service and table names")
    return jsonify(200, dataset.name)


def map_table_dataset(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``POST /service/<service>/table/<table>/dataset/<dataset>``."""
    dataset = backend.dataset_like(unquote(params["dataset"]))
    if dataset is None:
        return text(404, "Dataset does not exist.")
    if (
        backend.dataset_of_table(unquote(params["service"]), unquote(params["table"]))
        is not None
    ):
        return text(422, "Table mapping already exists.")
    backend.service_tables.append(
        FakeServiceTable(
            unquote(params["service"]), unquote(params["table"]), dataset.id
        )
    )
    return jsonify(200, "success")


def delete_table_dataset(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``DELETE /service/<service>/table/<table>/dataset/<dataset>``."""
    dataset = backend.dataset_like(unquote(params["dataset"]))
    if dataset is None:
        return text(404, "Dataset does not exist.")
    backend.service_tables[:] = [
        row
        for row in backend.service_tables
        if (row.service, row.table, row.dataset_id)
        != (unquote(params["service"]), unquote(params["table"]), dataset.id)
    ]
    return jsonify(200, "success")


def has_public(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /table/<table>/has_public``."""
    return jsonify(200, bool(backend.public_root_ids(unquote(params["table"]))))


def public_roots(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /table/<table>/get_public_roots``."""
    return jsonify(200, backend.public_root_ids(unquote(params["table"])))


def is_public(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``GET /table/<table>/root/<int:root>/is_public``."""
    root = int(params["root"])
    return jsonify(200, root in backend.public_root_ids(unquote(params["table"])))


def root_all_public(
    backend: Backend, req: AppRequest, caller: Caller, params: dict[str, str]
) -> AppResponse:
    """``POST /table/<table>/root_all_public``: a non-numeric id is a 500."""
    mimetype = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if mimetype != JSON and not (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    ):
        return error_page(415)
    try:
        root_ids = json.loads(req.body)
    except ValueError:
        return error_page(400)
    if not isinstance(root_ids, list) or not root_ids:
        return jsonify(400, {"error": "missing_root_ids"})
    wanted = {_root_id(value) for value in root_ids}
    public = set(backend.public_root_ids(unquote(params["table"])))
    return jsonify(200, len(wanted & public) == len(root_ids))


def _root_id(value: object) -> int | None:
    """A root id as PostgreSQL reads a JSON value; ``ValueError`` if it cannot."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value.strip())  # "abc" raises: the server's 500
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
