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
