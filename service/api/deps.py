"""FastAPI dependencies with short names: ContextDep, SessionDep, ReadSessionDep, ActorDep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from service.flows.context import AppContext
from service.plan.actor import Actor, Role
from service.plan.lifecycle import TRIGGER_ROLES, Trigger


async def get_context(request: Request) -> AppContext:
    # async: a plain function would be sent to a worker thread on every request.
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_session(context: ContextDep) -> AsyncIterator[AsyncSession]:
    """A session for a request that writes; the endpoint commits, anything else rolls back."""
    async with context.sessions() as session:
        yield session


async def get_read_session(context: ContextDep) -> AsyncIterator[AsyncSession]:
    async with context.read_sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]


async def get_actor(request: Request) -> Actor:
    """The caller, verified at the door by ``service.api.auth.BearerAuth`` (401 without a token)."""
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
NotAgencyDep = Annotated[Actor, role("admin", "dispatcher", "commander", "observer")]
