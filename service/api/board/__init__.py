"""The command centre's situation board at /board (design § Board):
server-rendered pages in Chinese, signed in with a token kept in a cookie, updated by polling
with ETags. ``routes`` serves it, ``session`` signs in and out, ``render`` draws it."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service.api.board import console, duties, sign_in
from service.api.board.render import BoardPages
from service.api.board.routes import router
from service.api.routes import add_routes
from service.playbooks.bundle import Playbooks

STATIC: Final = Path(__file__).resolve().parent.parent / "static" / "board"


def install_board(app: FastAPI, playbooks: Playbooks) -> None:
    """Add the board's pages and the files they load (/board/static/)."""
    app.state.board_pages = BoardPages(playbooks)
    add_routes(app, router)
    add_routes(app, duties.router)
    add_routes(app, sign_in.router)
    add_routes(app, console.router)
    app.mount("/board/static", StaticFiles(directory=STATIC), name="board-static")
