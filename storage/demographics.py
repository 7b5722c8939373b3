"""Self-declared demographic data, for the bias audit and nothing else.

A candidate may declare their sex, age band and region, each optional ("prefer not to say" is
``None``), under a consent of its own (``Consent.kind == "demographics"``, PIPL Art. 29 separate
consent). The answers live in their own table, ``demographics``, one row per application, which no
other table references; the only reader is the bias audit (:mod:`actions.bias`). Scoring never sees
them: nothing under ``scoring/`` imports this module or the model (``tests/actions/test_bias.py``
checks the source).

The audit log records that a declaration was made and which fields were given, never the values, so
an export of the audit log carries no demographic data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import Application, Demographic
from storage.repo import audit, record_consent

CONSENT_KIND = "demographics"
SEXES = ("female", "male", "other")
AGE_BANDS = ("under_25", "25_34", "35_44", "45_54", "55_plus")
FIELDS = ("sex", "age_band", "region")
MAX_REGION = 100


def _clean(value: str | None, allowed: tuple[str, ...] | None, field: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if allowed is not None:
        value = value.casefold()
        if value not in allowed:
            raise ValueError(f"{field} must be one of {', '.join(allowed)} (or not given), not {value!r}")
    elif len(value) > MAX_REGION:
        raise ValueError(f"{field} must be at most {MAX_REGION} characters")
    return value


def record_demographics(
    s: Session,
    *,
    app: Application,
    sex: str | None,
    age_band: str | None,
    region: str | None,
    now: datetime,
) -> Demographic:
    """Record (or replace) what the candidate of ``app`` declared, with their consent.

    Declaring is the consent: the candidate was asked separately and answered, so a ``demographics``
    consent (granted) is written alongside. Values are validated (:data:`SEXES`, :data:`AGE_BANDS`;
    the region is free text of at most 100 characters); an empty or ``None`` field stays unknown.
    Raises ``ValueError`` on a value outside the lists or when the application has no linked person.
    """
    if app.user_id is None:
        raise ValueError("only the candidate declares: the application has no linked person yet")
    values = {
        "sex": _clean(sex, SEXES, "sex"),
        "age_band": _clean(age_band, AGE_BANDS, "age_band"),
        "region": _clean(region, None, "region"),
    }
    record_consent(s, app=app, kind=CONSENT_KIND, granted=True, now=now)
    row = s.scalar(select(Demographic).where(Demographic.application_id == app.id))
    if row is None:
        row = Demographic(application_id=app.id, declared_at=now, **values)
        s.add(row)
    else:
        row.sex, row.age_band, row.region = values["sex"], values["age_band"], values["region"]
        row.declared_at = now
    s.flush()
    audit(
        s,
        now=now,
        actor=f"user:{app.user_id}",
        action="demographics.declare",
        subject=f"application:{app.id}",
        details={"declared": [f for f in FIELDS if values[f] is not None]},
    )
    return row


def withdraw_demographics(s: Session, *, app: Application, now: datetime) -> bool:
    """The candidate withdraws the consent: it is recorded and the declared data erased. True when
    there was data to erase."""
    if app.user_id is None:
        raise ValueError("the application has no linked person")
    record_consent(s, app=app, kind=CONSENT_KIND, granted=False, now=now)
    erased = s.execute(delete(Demographic).where(Demographic.application_id == app.id)).rowcount
    audit(
        s,
        now=now,
        actor=f"user:{app.user_id}",
        action="demographics.erase",
        subject=f"application:{app.id}",
        details={"erased": bool(erased)},
    )
    return bool(erased)


def demographics_of(s: Session, application_id: int) -> Demographic | None:
    """The declaration of one application (for the candidate's own access request)."""
    return s.scalar(select(Demographic).where(Demographic.application_id == application_id))
