"""Who acts on an event: the roles (design § Roles) and the Actor every rule reasons about.

The one definition of the roles: the token model's CHECK constraint, the CLI's choices and the
API's role checks derive from ``Role``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final, Literal, get_args

from service.errors import Forbidden, Said

Role = Literal["admin", "dispatcher", "commander", "agency", "observer"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
Via = Literal["api", "board"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is calling: a token's identity, recorded on every timeline entry it causes.

    ``region`` is a commander's HQ (or the grid a dispatcher is limited to); ``agency`` an agency
    token's unit code; ``via`` where the call came from: the API, or a form of the board's
    pages (recorded on the timeline entries it causes, design § Duty page).
    """

    id: uuid.UUID
    name: str
    role: Role
    agency: str | None = None
    region: str | None = None
    via: Via = "api"

    @property
    def label(self) -> str:
        scope = self.agency or self.region
        return f"{self.role}:{self.name}" + (f"@{scope}" if scope else "")

    def require(self, *roles: Role) -> None:
        """Refuse (403) unless the actor has one of ``roles``."""
        if self.role not in roles:
            raise Forbidden(
                Said(
                    "角色“{role}”无权执行此操作；可执行的角色：{allowed}",
                    role=self.role,
                    allowed=", ".join(roles),
                ),
                rule="design § Roles",
            )
