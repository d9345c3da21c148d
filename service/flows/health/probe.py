"""Whether the database can do its work: asked for one row on the read pool, as a load
balancer's health check does; on SQLite, whether its disk has room (a MB at least); and, while a
write-side incident is on (a full disk, a read-only database), asked to take a write too, so that
the incident ends when writes work again."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from service.errors import Trouble
from service.flows.context import AppContext
from service.store.trouble import (
    ROOM_NEEDED,
    answers,
    disk_room,
    room,
    takes_writes,
    trouble_of,
)


async def check_health(context: AppContext) -> Trouble | None:
    """None when the database is well, else what is wrong with it. The process's incident
    (``context.storage``) follows: begun or counted on trouble, ended when well."""
    watch = context.storage
    incident = watch.incident
    try:
        await answers(context.read_engine)
        writes_refused = incident is not None and incident.trouble is not Trouble.UNREACHABLE
        # the writer's connection only while writes are refused: it is the requests' otherwise
        spare = await room(context.engine) if writes_refused else disk_room(context.engine)
        if spare is not None and spare < ROOM_NEEDED:
            watch.saw(Trouble.FULL, f"{spare} bytes of room left", "health check", refused=False)
            return Trouble.FULL
        if writes_refused:
            await takes_writes(context.engine)
    except (SQLAlchemyError, OSError) as error:
        # The driver's words name hosts, files and users: they go to the log (once per
        # incident), not to whoever asks (the endpoint needs no token).
        trouble = trouble_of(error) or Trouble.UNREACHABLE
        watch.saw(trouble, error, "health check", refused=False)
        return trouble
    watch.well()
    return None
