"""HR users and their tokens: only a hash is stored; revoked and expired tokens are refused; scope."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage import accounts, repo
from storage.db import make_engine, session_factory
from storage.models import ApiToken, AuditEntry, Position, User
from storage.seed import seed
from tests.conftest import NOW, TZ


@pytest.fixture
def sessions(db_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    factory = session_factory(engine)
    yield factory
    engine.dispose()


def _hr(sessions, scope: list[str], **kw) -> User:  # type: ignore[no-untyped-def]
    with sessions.begin() as s:
        return accounts.create_hr_user(s, name="王经理", scope=scope, now=NOW, **kw)


def test_a_token_is_returned_once_and_only_its_hash_is_stored(sessions) -> None:  # type: ignore[no-untyped-def]
    user = _hr(sessions, ["RISK"])
    assert user.role == "hr" and user.scope == ["RISK"] and user.language == "zh"
    with sessions.begin() as s:
        token = accounts.issue_token(s, user=s.get(User, user.id), name="laptop", now=NOW)
    assert token.startswith("tb_") and len(token) > 40
    with sessions() as s:
        row = s.scalars(select(ApiToken)).one()
        assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
        assert token not in repr([(c.name, getattr(row, c.name)) for c in ApiToken.__table__.columns])
        assert row.scopes == ["reports:read"] and row.expires_at == NOW + timedelta(days=90)
        found = accounts.verify_token(s, token, now=NOW)
        assert found is not None and found[0].id == user.id and found[1].id == row.id
        actions = [a.action for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions == ["user.create", "token.issue"]
        # audit rows never carry the token either
        assert all(token not in str(a.details) for a in s.scalars(select(AuditEntry)))


def test_unknown_expired_and_revoked_tokens_are_refused(sessions) -> None:  # type: ignore[no-untyped-def]
    user = _hr(sessions, ["*"], language="en")
    with sessions.begin() as s:
        u = s.get(User, user.id)
        short = accounts.issue_token(s, user=u, name="short", days=1, now=NOW)
        forever = accounts.issue_token(s, user=u, name="forever", days=None, now=NOW)
    with sessions() as s:
        assert accounts.verify_token(s, "tb_nope", now=NOW) is None
        assert accounts.verify_token(s, "", now=NOW) is None
        assert accounts.verify_token(s, "x" * 10_000, now=NOW) is None
        assert accounts.verify_token(s, short, now=NOW + timedelta(hours=23)) is not None
        assert accounts.verify_token(s, short, now=NOW + timedelta(days=1)) is None  # expired at the instant
        assert accounts.verify_token(s, forever, now=NOW + timedelta(days=3650)) is not None
        forever_id = accounts.verify_token(s, forever, now=NOW)[1].id  # type: ignore[index]
    with sessions.begin() as s:
        row = accounts.revoke_token(s, token_id=forever_id, now=NOW + timedelta(hours=1))
        assert row is not None and row.revoked_at == NOW + timedelta(hours=1)
    with sessions.begin() as s:
        again = accounts.revoke_token(s, token_id=forever_id, now=NOW + timedelta(hours=2))
        assert again is not None and again.revoked_at == NOW + timedelta(hours=1)  # the first time stays
        assert accounts.revoke_token(s, token_id=9999, now=NOW) is None
    with sessions() as s:
        assert accounts.verify_token(s, forever, now=NOW + timedelta(hours=1)) is None
        revokes = s.scalars(select(AuditEntry).where(AuditEntry.action == "token.revoke")).all()
        assert len(revokes) == 1 and revokes[0].details["token_id"] == forever_id


def test_bad_input_is_refused(sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as s:
        with pytest.raises(ValueError):
            accounts.create_hr_user(s, name=" ", scope=["RISK"], now=NOW)
        with pytest.raises(ValueError):
            accounts.create_hr_user(s, name="A", scope=[" ", ""], now=NOW)
        with pytest.raises(ValueError):
            accounts.create_hr_user(s, name="A", scope=["RISK"], language="fr", now=NOW)
        user = accounts.create_hr_user(s, name="A", scope=[" RISK ", "RISK"], now=NOW)
        assert user.scope == ["RISK"]
        with pytest.raises(ValueError):
            accounts.issue_token(s, user=user, name="t", days=0, now=NOW)
        with pytest.raises(ValueError):
            accounts.issue_token(s, user=user, name="", now=NOW)


def test_scope_by_code_department_or_star(sessions) -> None:  # type: ignore[no-untyped-def]
    from bots.settings import ROOT

    with sessions.begin() as s:
        seed(s, content_dir=ROOT / "content", now=NOW, tz=TZ)
    with sessions() as s:
        by_code = {p.code: p for p in s.scalars(select(Position))}
        risk, rm, teller = by_code["RISK"], by_code["RM"], by_code["TELLER"]

        def user(scope: list[str], role: str = "hr") -> User:
            return User(display_name="x", role=role, scope=scope, language="zh", created_at=NOW)

        assert accounts.in_scope(user(["RISK"]), risk) and not accounts.in_scope(user(["RISK"]), rm)
        assert accounts.in_scope(user(["risk"]), risk)  # codes in any case, as the CLI takes them
        assert accounts.in_scope(user([rm.department]), rm)
        assert not accounts.in_scope(user([rm.department]), teller)
        assert all(accounts.in_scope(user(["*"]), p) for p in (risk, rm, teller))
        assert not accounts.in_scope(user([]), risk)
        assert not accounts.in_scope(user(["*"], role="candidate"), risk)  # only HR has a scope
        assert repo.position_by_code(s, "RISK") is risk
