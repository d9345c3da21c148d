"""What every flow runs with: settings, playbooks, the write and read sessions, the token
verifier. Built once per process by the app's wiring (``service.app.open_context``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.config import Settings
from service.playbooks.bundle import Playbooks
from service.store.tokens import TokenVerifier


@dataclass(frozen=True)
class AppContext:
    """``sessions`` write; ``read_sessions`` only read (a separate pool on SQLite, every
    transaction deferred)."""

    settings: Settings
    playbooks: Playbooks
    engine: AsyncEngine
    read_engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    tokens: TokenVerifier

    async def close(self) -> None:
        await self.engine.dispose()
        if self.settings.is_sqlite:
            await self.read_engine.dispose()
