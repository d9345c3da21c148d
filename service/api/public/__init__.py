"""The public page (/public) and its feeds, read without a token: ``routes`` serves them,
``edition`` renders them once per change, ``feeds`` writes the Atom feeds."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service.api.public.edition import PublicEditions
from service.api.public.front import PublicFront
from service.api.public.routes import router
from service.api.routes import add_routes
from service.config import Settings
from service.playbooks.bundle import Playbooks

STATIC: Final = Path(__file__).resolve().parent.parent / "static" / "public"


def install_public(app: FastAPI, playbooks: Playbooks, settings: Settings) -> None:
    """Add the public page, its feeds and CAP messages, and its stylesheet (/public/static/);
    and ``PublicFront``, which answers the page and feeds from a fresh edition. Added after
    every other middleware, it is the outermost: call this last of the middleware."""
    app.state.public_editions = editions = PublicEditions(playbooks, settings)
    app.add_middleware(PublicFront, editions=editions)
    add_routes(app, router)
    app.mount("/public/static", StaticFiles(directory=STATIC), name="public-static")
