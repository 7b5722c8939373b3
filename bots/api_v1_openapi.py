"""The OpenAPI 3.1 document of ``/api/v1`` (``bots/api_v1.py``), kept as data beside the handlers;
``tests/bots/test_api_v1.py`` checks it against the routes."""

from __future__ import annotations

from typing import Any

from actions import funnel as funnels
from bots.api_v1 import (
    DEFAULT_LIMIT,
    ERROR_CODES,
    LANGUAGES,
    MAX_LIMIT,
    MILESTONES,
    PREFIX,
    READ_FUNNEL,
    READ_PROFILES,
    READ_REPORTS,
    SCOPES,
    STAGES,
    WRITE_HIRES,
)
from scoring.questions import INDICATORS


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    return {"oneOf": [schema, {"type": "null"}]}


_TIME = {"type": "string", "format": "date-time"}
_SCORE = {"type": "number", "minimum": 0, "maximum": 100}


def _errors(*statuses: int) -> dict[str, Any]:
    names = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}
    return {str(code): {"$ref": f"#/components/responses/{names[code]}"} for code in statuses}


def _query(name: str, schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": text, "schema": schema}


def _operation(
    *,
    op_id: str,
    summary: str,
    description: str,
    scope: str,
    ok: dict[str, Any],
    params: list[Any],
    bad: bool,
) -> dict[str, Any]:
    return {
        "operationId": op_id,
        "summary": summary,
        "description": description + f" Needs the scope `{scope}`; every call is audited.",
        "tags": ["hr"],
        "security": [{"bearer": [scope]}],
        "parameters": params,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": ok}}},
            **_errors(*((400,) if bad else ()), 401, 403, 404),
        },
    }


def _path(name: str, schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": text, "schema": schema}


def _gets(app_id: dict[str, Any]) -> list[tuple[str, str, str, str, str, str, bool, list[Any]]]:
    """The read endpoints: path, operationId, summary, description, scope, answer schema, 400s?, parameters."""
    since = _query("since", {"type": "string", "format": "date"}, "First day (included), bank time.")
    until = _query("until", {"type": "string", "format": "date"}, "Last day (included), bank time.")
    code = _path(
        "position_code", {"type": "string", "maxLength": 40}, "The position's code (case-insensitive)."
    )
    page = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}
    profiles = [
        _query("position", {"type": "string"}, "A position code (case-insensitive)."),
        _query("stage", {"type": "string", "enum": list(STAGES)}, "Only this stage."),
        _query(
            "updated_since",
            {"type": "string"},
            "Updated at or after: ISO 8601 with a UTC offset, or a date (midnight, bank time).",
        ),
        _query("cursor", {"type": "string"}, "The next_cursor of the previous page."),
        _query("limit", page, "Page size."),
    ]
    lang = _query(
        "lang", {"type": "string", "enum": list(LANGUAGES)}, "Labels' language (default: the user's)."
    )
    return [
        ("/profiles", "listProfiles", "Talent profiles",
         "Profiles of the positions in the token user's scope, oldest update first, keyset-paginated on "
         "(updated_at, id): pass next_cursor back as cursor.", READ_PROFILES, "ProfilePage", True, profiles),
        ("/profiles/{application_id}", "getProfile", "One talent profile with its decision history",
         "The profile and every decision on it (automated or by a person), oldest first.", READ_PROFILES,
         "ProfileDetail", False, [app_id]),
        ("/reports/{application_id}", "getReport", "The interview report",
         "Scores with their evidence and versions; 404 when there is no interview yet.", READ_REPORTS,
         "Report", True, [app_id, lang]),
        ("/funnels/{position_code}", "getFunnel", "The recruiting funnel of a position",
         "Counts, step rates and conversion, the score distribution of hired vs not hired and a threshold "
         "suggestion, for applications created in [since, until].", READ_FUNNEL, "Funnel", True,
         [code, since, until]),
    ]  # fmt: skip


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of every /api/v1 endpoint (kept beside the handlers; a test checks
    it against the routes)."""
    app_id = _path("application_id", {"type": "integer", "minimum": 1}, "The application's id.")
    milestone_props = {m.removesuffix("_at"): _nullable(_TIME) for m in MILESTONES}
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {
                            "type": "string",
                            "enum": list(ERROR_CODES),
                        },
                        "message": {
                            "type": "string",
                            "description": "In Chinese when Accept-Language prefers zh.",
                        },
                        "parameter": {"type": "string", "description": "The bad parameter (400 only)."},
                    },
                }
            },
        },
        "Milestones": {
            "type": "object",
            "description": "When each stage was first reached (stays set after a later rejection).",
            "required": list(milestone_props),
            "properties": milestone_props,
        },
        "Profile": {
            "type": "object",
            "description": "A talent profile. Never holds a name, demographics, transcripts or document content.",
            "required": [
                "id",
                "position",
                "stage",
                "priority",
                "round",
                "effective_score",
                "overall",
                "score_override",
                "indicators",
                "interview",
                "documents_complete",
                "documents_missing",
                "milestones",
                "review_requested_at",
                "created_at",
                "updated_at",
            ],
            "properties": {
                "id": {"type": "integer"},
                "position": {"type": "string", "description": "The position's code."},
                "stage": {"type": "string", "enum": list(STAGES)},
                "priority": {"type": "boolean"},
                "round": {"type": "integer", "minimum": 1},
                "effective_score": _nullable(
                    {**_SCORE, "description": "score_override when set, else overall."}
                ),
                "overall": _nullable({**_SCORE, "description": "Of the latest completed interview."}),
                "score_override": _nullable({**_SCORE, "description": "HR's override, with a decision row."}),
                "indicators": _nullable(
                    {
                        "type": "object",
                        "description": "Indicator → score (null: not assessed).",
                        "properties": {k: _nullable(_SCORE) for k in INDICATORS},
                    }
                ),
                "interview": _nullable(
                    {
                        "type": "object",
                        "properties": {
                            "round": {"type": "integer"},
                            "completed_at": _nullable(_TIME),
                            "versions": {
                                "type": "object",
                                "description": "Rubric, scorer and model versions.",
                            },
                        },
                    }
                ),
                "documents_complete": {"type": "boolean"},
                "documents_missing": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Required document kinds not yet submitted.",
                },
                "milestones": _ref("Milestones"),
                "review_requested_at": _nullable(
                    {**_TIME, "description": "The candidate asked for a person."}
                ),
                "created_at": _TIME,
                "updated_at": _TIME,
            },
        },
        "Decision": {
            "type": "object",
            "required": ["id", "kind", "actor", "reason", "data", "at"],
            "properties": {
                "id": {"type": "integer"},
                "kind": {
                    "type": "string",
                    "description": "shortlisted, priority, next_round, reject, offer, hired, "
                    "override_score, override_decision, review_requested, review_resolved, reminded.",
                },
                "actor": {"type": "string", "description": "user:<id> or system:<component>."},
                "reason": {"type": ["string", "null"]},
                "data": {"type": "object"},
                "at": _TIME,
            },
        },
        "ProfileDetail": {
            "allOf": [
                _ref("Profile"),
                {
                    "type": "object",
                    "required": ["decisions"],
                    "properties": {"decisions": {"type": "array", "items": _ref("Decision")}},
                },
            ]
        },
        "ProfilePage": {
            "type": "object",
            "required": ["data", "next_cursor", "limit"],
            "properties": {
                "data": {"type": "array", "items": _ref("Profile")},
                "next_cursor": {
                    "type": ["string", "null"],
                    "description": "Pass as cursor for the next page; null on the last page.",
                },
                "limit": {"type": "integer"},
            },
        },
        "Report": {
            "type": "object",
            "description": "The interview report (schema talentbot.report) without the candidate's name, "
            "the transcripts and the evidence passages (listed in withheld).",
            "required": [
                "schema",
                "language",
                "application_id",
                "position",
                "overall",
                "indicators",
                "versions",
            ],
            "properties": {
                "schema": {"type": "string"},
                "language": {"type": "string", "enum": list(LANGUAGES)},
                "generated_at": _TIME,
                "application_id": {"type": "string"},
                "position": {"type": "object"},
                "overall": {"type": "object"},
                "indicators": {"type": "array", "items": {"type": "object"}},
                "answers": {"type": "array", "items": {"type": "object"}},
                "sequence": {"type": "array", "items": {"type": "object"}},
                "versions": {"type": "object"},
                "note": {"type": "string"},
                "interview": {
                    "type": "object",
                    "properties": {
                        "status": {"type": "string"},
                        "mismatches": {"type": "array", "items": {"type": "integer"}},
                    },
                },
                "withheld": {"type": "array", "items": {"type": "string"}},
            },
        },
        "FunnelStep": {
            "type": "object",
            "required": ["step", "count", "rate", "conversion"],
            "properties": {
                "step": {"type": "string", "enum": list(funnels.STEPS)},
                "count": {"type": ["integer", "null"], "description": "null: no threshold set."},
                "rate": {"type": ["number", "null"], "description": "Of the previous step."},
                "conversion": {"type": ["number", "null"], "description": "Of invited."},
            },
        },
        "Funnel": {
            "type": "object",
            "description": "See actions.funnel: applications created in [since, until].",
            "required": [
                "schema",
                "positions",
                "period",
                "threshold_status",
                "steps",
                "distribution",
                "suggestion",
            ],
            "properties": {
                "schema": {"type": "string", "const": funnels.SCHEMA},
                "method": {"type": "string"},
                "positions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"code": {"type": "string"}, "threshold": {"type": ["number", "null"]}},
                    },
                },
                "period": {
                    "type": "object",
                    "properties": {
                        "since": {"type": ["string", "null"], "format": "date"},
                        "until": {"type": ["string", "null"], "format": "date"},
                    },
                },
                "params": {"type": "object"},
                "threshold_status": {"type": "string", "enum": ["set", "not_set", "partial"]},
                "steps": {"type": "array", "items": _ref("FunnelStep")},
                "outcomes": {
                    "type": "object",
                    "properties": {
                        k: {"type": "integer"}
                        for k in ("rejected", "withdrawn", "scored", "next_round_below_threshold")
                    },
                },
                "distribution": {
                    "type": "object",
                    "properties": {
                        "bin_width": {"type": "integer"},
                        "bins": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    k: {"type": "integer"} for k in ("low", "high", "hired", "not_hired")
                                },
                            },
                        },
                    },
                },
                "suggestion": {
                    "type": "object",
                    "properties": {
                        "status": {"type": "string", "enum": ["ok", "too_few_hired"]},
                        "threshold": {"type": ["integer", "null"]},
                        "keep_hired": {"type": "number"},
                        "hired_scored": {"type": "integer"},
                        "not_hired_scored": {"type": "integer"},
                        "hired_needed": {"type": "integer"},
                        "hired_kept": {"type": ["integer", "null"]},
                        "not_hired_passed": {"type": ["integer", "null"]},
                        "current": {"type": "object"},
                    },
                },
            },
        },
    }
    error = {"application/json": {"schema": _ref("Error")}}
    challenge = {
        "WWW-Authenticate": {
            "description": 'Bearer realm="talentbot" (with error="invalid_token" / "insufficient_scope").',
            "schema": {"type": "string"},
        }
    }
    responses = {
        "BadRequest": {
            "description": "A parameter is malformed (dates, limit, cursor, stage, lang).",
            "content": error,
        },
        "Unauthorized": {
            "description": "The token is missing, unknown, expired or revoked.",
            "headers": challenge,
            "content": error,
        },
        "Forbidden": {
            "description": "The token lacks the endpoint's scope, or is not an HR user's.",
            "headers": challenge,
            "content": error,
        },
        "NotFound": {
            "description": "No such resource, or it is outside the token user's scope (indistinguishable).",
            "content": error,
        },
    }
    paths = {
        f"{PREFIX}/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "tags": ["meta"],
                "security": [],
                "responses": {
                    "200": {"description": "The OpenAPI document", "content": {"application/json": {}}}
                },
            }
        },
        **{
            f"{PREFIX}{path}": {
                "get": _operation(
                    op_id=op_id,
                    summary=summary,
                    description=text,
                    scope=scope,
                    ok=_ref(ok),
                    bad=bad,
                    params=params,
                )
            }
            for path, op_id, summary, text, scope, ok, bad, params in _gets(app_id)
        },
        f"{PREFIX}/applications/{{application_id}}/hire": {
            "post": {
                "operationId": "recordHire",
                "summary": "Record that a candidate was hired",
                "description": "The application becomes an employee: onboarding starts in their chat, a mentor is "
                "matched, the candidate is told; a decision and an audit row are written. Repeating it answers "
                f'`"status": "unchanged"`. Needs the scope `{WRITE_HIRES}`.',
                "tags": ["hr"],
                "security": [{"bearer": [WRITE_HIRES]}],
                "parameters": [app_id],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "start_date": {"type": "string", "format": "date"},
                                    "employee_ref": {"type": "string", "maxLength": 100},
                                },
                                "additionalProperties": False,
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "Recorded (or already recorded)",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "application_id": {"type": "integer"},
                                        "status": {"type": "string", "enum": ["ok", "unchanged"]},
                                        "stage": {"type": "string"},
                                        "employee": {"type": "object"},
                                    },
                                    "required": ["application_id", "status", "stage"],
                                }
                            }
                        },
                    },
                    "409": {"description": "The application is rejected or withdrawn"},
                    **_errors(400, 401, 403, 404),
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "talentbot HR read API",
            "version": "1.0.0",
            "description": "Read access for the bank's HR system. Every read of candidate data is audited.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "tags": [{"name": "hr"}, {"name": "meta"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "tb_…",
                    "description": "An API token issued to an HR user, with scopes: " + ", ".join(SCOPES),
                }
            },
            "schemas": schemas,
            "responses": responses,
        },
    }
