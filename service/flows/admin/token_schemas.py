"""What the token flows take and give (design § Roles): ``TokenCreate`` in,
``TokenRead`` listed, ``TokenCreated`` once with the token itself.

Beside the subscriptions' schemas (``schemas.py`` of this package) rather than in it: the two
domains share nothing but their admin.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

from service.flows.schemas import RegionCode, Text
from service.plan.actor import Role

# ``drill run`` names each token it mints for a scenario's actor ``drill: …``, so that the
# timeline shows who acted in a drill. Revoked, such a token is left out of the token list
# unless asked for (the row stays: the timeline and the actions refer to it).
DRILL_TOKEN_PREFIX: Final = "drill: "


class TokenCreate(BaseModel):
    """A token to make: who holds it and what it may do."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"role": "dispatcher", "name": "城调 值班", "region": "330603"},
                {"role": "commander", "name": "柯桥区应急指挥部 指挥长", "region": "330603"},
                {"role": "agency", "name": "绍兴电力局 调度", "agency": "power-company"},
                {"role": "observer", "name": "市应急管理局 值班室"},
            ]
        },
    )

    role: Role = Field(
        description="admin (administration), dispatcher (reports, warning proposals, "
        "attestations), commander (an HQ's commands; needs region), agency (its unit's actions; "
        "needs agency), observer (reads everything)"
    )
    name: Annotated[
        Text,
        Field(
            min_length=1,
            max_length=200,
            description="whose token it is, as the timeline shows who acted",
        ),
    ]
    agency: str | None = Field(
        default=None,
        max_length=40,
        description="for role agency, and only for it: the unit's code in agencies.yaml, e.g. "
        "power-company (绍兴电力局) or hq-330603 (柯桥区's HQ)",
    )
    region: RegionCode | None = Field(
        default=None,
        description="a commander's HQ (required: 330000, 330600 or a district/county such as "
        "330603), or the region a dispatcher may report within (optional); no other role has one",
    )


class TokenRead(BaseModel):
    """A token as listed: never the token itself."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    role: Role
    name: str
    agency: str | None
    region: str | None
    created_at: datetime
    revoked_at: datetime | None = Field(description="when it was revoked; null while it works")


class TokenCreated(TokenRead):
    """The token just made, with the token itself: this answer is the only place it appears."""

    token: str = Field(description="the bearer token, shown this once; only its hash is kept")


# A page of the board to land on after signing in: a path under /board, of plain characters (no
# scheme, no host, no second slash that a browser would read as another host).
BOARD_PATH: Final = r"^/board(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*/?(\?[A-Za-z0-9._~=&%-]*)?$"
LINK_MINUTES: Final = 10  # how long a sign-in link works, unless asked otherwise
MOST_LINK_MINUTES: Final = 60


class SignInLinkCreate(BaseModel):
    """A sign-in link to mint for a token (design § Duty page)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {},
                {"next": "/board/duties", "minutes": 15},
            ]
        },
    )

    next: str | None = Field(
        default=None,
        max_length=300,
        pattern=BOARD_PATH,
        description="the board page the link lands on once used (a path under /board, e.g. "
        "/board/duties/{action_id}); the board when left out",
    )
    minutes: int = Field(
        default=LINK_MINUTES,
        ge=1,
        le=MOST_LINK_MINUTES,
        description="how long the link works if no one uses it, 1 to 60 minutes",
    )


class SignInLinkCreated(BaseModel):
    """A sign-in link, shown once: it signs whoever opens it in as the token's holder, on the
    board only, once, until ``expires_at``."""

    token_id: uuid.UUID
    url: str = Field(description="OUTAGE_PUBLIC_URL/board/sign-in/{code}: send it to one person")
    next: str | None
    expires_at: datetime
