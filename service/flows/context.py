"""What every flow runs with: settings, playbooks, the write and read sessions, the token
verifier. Built once per process (``open_context``): by the app's lifespan, and by each CLI
command that calls a flow."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.config import Settings
from service.playbooks.bundle import Playbooks
from service.store.engine import READ_ONLY, make_engine, make_sessionmaker
from service.store.tokens import TokenVerifier
from service.store.trouble import StorageWatch


@dataclass(frozen=True)
class AppContext:
    """``sessions`` write; ``read_sessions`` only read (a separate pool on SQLite, every
    transaction deferred); ``storage`` keeps the process's storage incident, if one is on."""

    settings: Settings
    playbooks: Playbooks
    engine: AsyncEngine
    read_engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    tokens: TokenVerifier
    storage: StorageWatch = field(default_factory=StorageWatch)

    async def close(self) -> None:
        await self.engine.dispose()
        if self.settings.is_sqlite:
            await self.read_engine.dispose()


def open_context(settings: Settings, playbooks: Playbooks | None = None) -> AppContext:
    """The engines and sessions one process uses: on SQLite a separate read-only pool beside the
    one writer, on PostgreSQL one engine for both. ``close`` it when done."""
    engine = make_engine(settings)
    reader = make_engine(settings, writer=False) if settings.is_sqlite else engine
    read_engine = reader.execution_options(**READ_ONLY)
    read_sessions = make_sessionmaker(read_engine)
    return AppContext(
        settings=settings,
        playbooks=playbooks or Playbooks.load(settings.playbooks_dir),
        engine=engine,
        read_engine=read_engine,
        sessions=make_sessionmaker(engine),
        read_sessions=read_sessions,
        tokens=TokenVerifier(read_sessions, settings.token_cache_seconds),
    )
