"""What the app holds while it runs, built once by the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.classification import ClassificationRules, load_rules
from service.config import Settings
from service.db import READ_ONLY, make_engine, make_sessionmaker
from service.grids import GridRegistry, load_regions
from service.playbooks import AgencyRegistry, Checklists, load_agencies, load_checklists
from service.security import TokenVerifier


@dataclass(frozen=True)
class Playbooks:
    """The playbook files, validated: a bad file raises PlaybookError naming file, entry, reason."""

    grids: GridRegistry
    rules: ClassificationRules
    agencies: AgencyRegistry
    checklists: Checklists

    @classmethod
    def load(cls, settings: Settings) -> Playbooks:
        folder = settings.playbooks_dir
        agencies = load_agencies(folder / "agencies.yaml")
        return cls(
            grids=load_regions(folder / "regions.yaml"),
            rules=load_rules(folder / "classification.yaml"),
            agencies=agencies,
            checklists=load_checklists(folder, agencies),
        )


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    playbooks: Playbooks
    engine: AsyncEngine
    read_engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    tokens: TokenVerifier

    @classmethod
    def open(cls, settings: Settings, playbooks: Playbooks | None = None) -> AppContext:
        """``sessions`` write; ``read_sessions`` only read (a separate pool on SQLite, every
        transaction deferred)."""
        engine = make_engine(settings)
        reader = make_engine(settings, writer=False) if settings.is_sqlite else engine
        read_engine = reader.execution_options(**READ_ONLY)
        read_sessions = make_sessionmaker(read_engine)
        return cls(
            settings=settings,
            playbooks=playbooks or Playbooks.load(settings),
            engine=engine,
            read_engine=read_engine,
            sessions=make_sessionmaker(engine),
            read_sessions=read_sessions,
            tokens=TokenVerifier(read_sessions, settings.token_cache_seconds),
        )

    async def close(self) -> None:
        await self.engine.dispose()
        if self.settings.is_sqlite:
            await self.read_engine.dispose()
