"""Bodies the real server sent, as recorded in shared/reference/middle_auth-api.md."""

from __future__ import annotations

NORM_FULL_RECORD = {
    "admin": False,
    "admin_datasets": [],
    "affiliations": [[]],
    "created": "Sat, 28 Nov 2026 04:59:28 GMT",
    "email": "norm@example.org",
    "gdpr_consent": False,
    "id": 2,
    "name": "Norm User",
    "pi": "PI Norm",
    "service_account": False,
}
"""``GET /user/me`` for Norm User, a plain user (section 5)."""
