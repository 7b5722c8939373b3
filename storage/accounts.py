"""HR accounts and their API tokens.

A token is shown once, when it is issued; only its sha256 is stored, so a copy of the database holds
nothing that logs anyone in. Tokens are 256-bit random strings, so looking one up by its hash needs no
constant-time comparison (the hash is the index; knowing which hashes exist reveals no token).
Every change (a user added, a token issued or revoked) is an audit row.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ApiToken, Position, User
from storage.repo import audit

TOKEN_PREFIX = "tb_"
MAX_TOKEN_LENGTH = 200  # anything longer is not ours: refused before hashing or querying
READ_REPORTS = "reports:read"
LANGUAGES = ("zh", "en")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _clean_scope(scope: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in scope:
        item = item.strip()
        if item and item not in out:
            out.append(item)
    return out


def create_hr_user(
    s: Session, *, name: str, scope: Sequence[str], language: str = "zh", now: datetime, actor: str = "cli"
) -> User:
    """An HR user who may read the reports of the positions in ``scope``: position codes and/or
    department names; ``"*"`` means every position."""
    name = name.strip()
    if not 0 < len(name) <= 200:
        raise ValueError("the name must be 1–200 characters")
    cleaned = _clean_scope(scope)
    if not cleaned:
        raise ValueError("an HR user needs a scope: position codes, departments, or *")
    if language not in LANGUAGES:
        raise ValueError("language must be zh or en")
    user = User(display_name=name, role="hr", scope=cleaned, language=language, created_at=now)
    s.add(user)
    s.flush()
    audit(
        s,
        now=now,
        actor=actor,
        action="user.create",
        subject=f"user:{user.id}",
        details={"role": "hr", "scope": cleaned, "language": language},
    )
    return user


def issue_token(
    s: Session,
    *,
    user: User,
    name: str,
    scopes: Sequence[str] = (READ_REPORTS,),
    days: int | None = 90,
    now: datetime,
    actor: str = "cli",
) -> str:
    """A new token for ``user``, valid ``days`` days (None: until revoked). The token itself is
    returned once and never stored."""
    name = name.strip()
    if not 0 < len(name) <= 100:
        raise ValueError("the token name must be 1–100 characters")
    if days is not None and days < 1:
        raise ValueError("days must be at least 1")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_sha256=token_hash(token),
        scopes=list(scopes),
        created_at=now,
        expires_at=None if days is None else now + timedelta(days=days),
    )
    s.add(row)
    s.flush()
    audit(
        s,
        now=now,
        actor=actor,
        action="token.issue",
        subject=f"user:{user.id}",
        details={
            "token_id": row.id,
            "name": name,
            "scopes": list(scopes),
            "expires_at": None if row.expires_at is None else row.expires_at.isoformat(),
        },
    )
    return token


def verify_token(s: Session, token: str, *, now: datetime) -> tuple[User, ApiToken] | None:
    """The user and token row of a live token; None when it is unknown, revoked or expired."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = s.scalar(select(ApiToken).where(ApiToken.token_sha256 == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    user = s.get(User, row.user_id)
    if user is None:
        return None
    return user, row


def revoke_token(s: Session, *, token_id: int, now: datetime, actor: str = "cli") -> ApiToken | None:
    """Revoke a token (at once, for every request after this commits). Revoking twice keeps the first
    time. None when there is no such token."""
    row = s.get(ApiToken, token_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = now
        audit(
            s,
            now=now,
            actor=actor,
            action="token.revoke",
            subject=f"user:{row.user_id}",
            details={"token_id": row.id, "name": row.name},
        )
    return row


def tokens_of(s: Session, user_id: int) -> list[ApiToken]:
    return list(s.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))


def in_scope(user: User, position: Position) -> bool:
    """Whether ``user`` may see candidates of ``position``: its code (any case), its department, or
    ``"*"``. Only HR users have a scope."""
    if user.role != "hr":
        return False
    wanted = {str(item).strip().casefold() for item in (user.scope or [])}
    return "*" in wanted or position.code.casefold() in wanted or position.department.casefold() in wanted
