"""Bearer tokens of the review API: created once, stored only as a SHA-256 hash.

A token reads ``gp_<token_id>_<secret>`` (the id is public, the secret 32 random bytes);
its role is ``reader`` (GET) or ``reviewer`` (GET and POST a review).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from loader.errors import GenepairError
from loader.warehouse import Warehouse
from loader.warehouse.tables import API_TOKENS

ROLES = ("reader", "reviewer")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


@dataclass(frozen=True)
class Identity:
    token_id: str
    name: str
    role: str

    @property
    def may_review(self) -> bool:
        return self.role == "reviewer"


LOCAL = Identity("local", "local", "reviewer")  # genepair serve --no-auth


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create_token(warehouse: Warehouse, name: str, role: str, actor: str | None) -> tuple[str, str]:
    """A new token for ``name`` with ``role``: (token_id, token). Only the hash is stored."""
    if role not in ROLES:
        raise GenepairError("TOKEN_NAME_INVALID", f"role {role!r} is not one of {', '.join(ROLES)}")
    if not _NAME.match(name or ""):
        raise GenepairError(
            "TOKEN_NAME_INVALID", f"token name {name!r}: 1-100 characters of letters, digits and . _ @ -"
        )
    token_id = secrets.token_hex(6)
    token = f"gp_{token_id}_{secrets.token_urlsafe(32)}"
    with warehouse.transaction():
        warehouse.lock_study("api_tokens")
        taken = warehouse.query(
            f"SELECT count(*) FROM {API_TOKENS.qualified} WHERE token_name = ? AND revoked_at IS NULL", (name,)
        )[0][0]
        if taken:
            raise GenepairError("TOKEN_NAME_INVALID", f"an active token is already named {name!r}; revoke it first")
        warehouse.insert_rows(
            API_TOKENS,
            [
                {
                    "token_id": token_id,
                    "token_name": name,
                    "token_role": role,
                    "token_hash": token_hash(token),
                    "created_by": actor,
                    "created_at": _now(),
                }
            ],
        )
    return token_id, token


def revoke_token(warehouse: Warehouse, id_or_name: str) -> int:
    with warehouse.transaction():
        n = warehouse.query(
            f"SELECT count(*) FROM {API_TOKENS.qualified} "
            "WHERE (token_id = ? OR token_name = ?) AND revoked_at IS NULL",
            (id_or_name, id_or_name),
        )[0][0]
        if not n:
            raise GenepairError("TOKEN_NOT_FOUND", f"no active token with id or name {id_or_name!r}")
        warehouse.execute(
            f"UPDATE {API_TOKENS.qualified} SET revoked_at = ? WHERE (token_id = ? OR token_name = ?) "
            "AND revoked_at IS NULL",
            (_now(), id_or_name, id_or_name),
        )
    return int(n)


def list_tokens(warehouse: Warehouse) -> list[dict[str, Any]]:
    return warehouse.query_records(
        f"SELECT token_id, token_name, token_role, created_by, created_at, revoked_at FROM {API_TOKENS.qualified} "
        "ORDER BY created_at, token_id"
    )


def lookup(warehouse: Warehouse, token: str) -> Identity | None:
    """The active token's identity, or None (unknown, malformed or revoked)."""
    if not token.startswith("gp_") or len(token) > 200:
        return None
    rows = warehouse.query(
        f"SELECT token_id, token_name, token_role FROM {API_TOKENS.qualified} "
        "WHERE token_hash = ? AND revoked_at IS NULL",
        (token_hash(token),),
    )
    if not rows:
        return None
    token_id, name, role = rows[0]
    return Identity(token_id, name, role)
