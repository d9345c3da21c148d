"""Who may act on an event: the leading HQ or a higher one; never a lower one.

Plan 5.5 says "由启动响应的政府终止应急响应": the government that started the response ends it,
and plan 5.1 has the HQ of each level command its response. That a higher HQ may act for the one
that leads is the service's choice (design § Who leads): the higher HQ could take the lead
anyway (plan 2.2, 5.1), and a command centre should not wait for a county's commander to do what
the city's may order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from service.errors import Forbidden, Said
from service.plan.actor import Actor, Role
from service.plan.grids import GridRegistry


def at_or_above(actor_hq: str | None, hq: str | None, grids: GridRegistry) -> bool:
    """True when ``actor_hq`` is ``hq`` or one of the HQs above it (province ⊃ city ⊃ county)."""
    return actor_hq is not None and hq is not None and grids.is_within(hq, actor_hq)


def require_hq(actor: Actor, hq: str | None, grids: GridRegistry, what: Said, clause: str) -> None:
    """Refuse (403) unless ``actor`` commands ``hq`` or an HQ above it.

    With no leading HQ (no response was ever started) there is no jurisdiction to weigh: any
    commander passes, and the event's state decides (a 409 from the lifecycle).
    """
    actor.require("commander")
    if hq is not None:
        rule = f"plan {clause}: the leading HQ (or, the service's choice, a higher one)"
        require_command(actor, hq, grids, what, rule, leading_hq=hq)


def require_command(
    actor: Actor, hq: str, grids: GridRegistry, what: Said, rule: str, **extra: str
) -> None:
    """Refuse (403) unless ``actor`` commands ``hq`` or an HQ above it; ``rule`` says why that
    HQ, and ``extra`` goes into the refusal with it."""
    if not at_or_above(actor.region, hq, grids):
        raise Forbidden(
            Said(
                "{what}：{region} 的指挥部既不是 {hq}，也不是其上级",
                what=what,
                region=actor.region,
                hq=hq,
            ),
            rule=rule,
            **extra,
        )


def lead_or_holder(
    actor: Actor,
    hq: str | None,
    grids: GridRegistry,
    what: Said,
    clause: str,
    holders: tuple[Role, ...],
) -> Literal["lead", "holder"]:
    """Which right ``actor`` acts by on a duty of an event that "the holder of the duty, or a
    commander of the leading HQ or above" may act on.

    "lead" for a commander of ``hq`` (the HQ leading the event) or of an HQ above it: nothing more
    is asked. "holder" for a caller of one of ``holders`` (the roles that may hold the duty): the
    caller then checks that it holds it, which takes records this module does not read. Anyone
    else is refused (403) as ``require_hq`` refuses: a commander of a lower HQ for its
    jurisdiction, any other role for its role.
    """
    if actor.role == "commander" and at_or_above(actor.region, hq, grids):
        return "lead"
    if actor.role in holders:
        return "holder"
    require_hq(actor, hq, grids, what, clause)
    return "lead"  # a commander, with no HQ leading yet (require_hq)


def require_area(actor: Actor, regions: Iterable[str], grids: GridRegistry, what: Said) -> None:
    """Refuse (403) unless every region lies within the actor's region (if it has one)."""
    if actor.region is None:
        return
    outside = sorted(r for r in set(regions) if not grids.is_within(r, actor.region))
    if outside:
        raise Forbidden(
            Said(
                "{what}：{regions} 不在 {region} 范围内",
                what=what,
                regions=", ".join(outside),
                region=actor.region,
            ),
            rule="design § Roles: a token limited to a region acts only within it",
        )
