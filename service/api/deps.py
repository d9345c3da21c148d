"""FastAPI dependencies with short names: ContextDep, ActorDep and the role checks.

No dependency opens a session: each route calls one flow, which opens its own session and owns
its transaction (service.flows)."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Depends, Request

from service.api.render_pool import RenderPool
from service.flows.context import AppContext
from service.plan.actor import Actor, Role
from service.plan.lifecycle import TRIGGER_ROLES, Trigger


async def get_context(request: Request) -> AppContext:
    # async: a plain function would be sent to a worker thread on every request.
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_render_pool(request: Request) -> RenderPool:
    pool: RenderPool = request.app.state.render_pool
    return pool


# The worker's render processes, for the heavy pages (service.api.render_pool).
RenderPoolDep = Annotated[RenderPool, Depends(get_render_pool)]


async def get_actor(request: Request) -> Actor:
    """The caller, verified at the door (``service.api.door``, 401 without a token)."""
    actor: Actor = request.state.actor
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


def role(*roles: Role) -> Any:
    """A dependency that admits only ``roles`` (403 otherwise), resolved before the body is read."""

    async def admit(actor: ActorDep) -> Actor:
        actor.require(*roles)
        return actor

    return Depends(admit)


def fires(trigger: Trigger) -> Any:
    """A dependency: only the roles design § Lifecycle gives ``trigger`` (TRIGGER_ROLES) pass."""
    return role(*TRIGGER_ROLES[trigger])


CommanderDep = Annotated[Actor, role("commander")]
AgencyDep = Annotated[Actor, role("agency")]
FieldActorDep = Annotated[Actor, role("dispatcher", "commander")]
# Every role but an agency: who reads an event's termination check (plan 5.5).
NOT_AGENCY: Final[tuple[Role, ...]] = ("admin", "dispatcher", "commander", "observer")
NotAgencyDep = Annotated[Actor, role(*NOT_AGENCY)]
