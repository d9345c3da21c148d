"""The app takes its routers' routes as they are (``service.api.routes.add_routes``): nothing an
include would have given them is lost, and no request goes through an included router's layers."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, APIRouter
from starlette.routing import Mount, Route

from service.api.board import console, duties, sign_in
from service.api.board.routes import router as board_router
from service.api.public.routes import router as public_router
from service.api.routes import add_routes, health
from service.app import API_ROUTERS, create_app
from service.config import Settings

ROUTERS = [
    *API_ROUTERS,
    health.router,
    board_router,
    duties.router,
    sign_in.router,
    console.router,
    public_router,
]


def openapi_of(app: FastAPI) -> dict[str, object]:
    return get_openapi(title="t", version="1", routes=app.routes)


@pytest.mark.parametrize("router", ROUTERS, ids=lambda r: r.routes[0].path)
def test_routes_added_document_as_an_include_would(router: APIRouter) -> None:
    """Same paths, operations, tags, responses, security (a router's dependencies) and
    visibility (a router's include_in_schema) as ``include_router`` gives."""
    included, added = FastAPI(), FastAPI()
    included.include_router(router)
    add_routes(added, router)
    assert openapi_of(added) == openapi_of(included)
    assert [r.path for r in added.routes if isinstance(r, APIRoute)] == [
        r.path for r in router.routes if isinstance(r, APIRoute)
    ]


def test_the_app_holds_its_routes_themselves() -> None:
    """Every route of the app is one a request reaches directly: an endpoint, a page or a
    mount, never an included router matched and dispatched on the way."""
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    kinds = {type(route).__name__ for route in app.router.routes}
    assert all(isinstance(route, Route | Mount) for route in app.router.routes), kinds
    paths = [route.path for route in app.router.routes if isinstance(route, APIRoute)]
    assert "/api/v1/classify" in paths and "/board" in paths and "/public" in paths
