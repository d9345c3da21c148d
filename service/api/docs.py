"""The API docs, /docs (Swagger UI) and /redoc (ReDoc), served whole by the service.

FastAPI's own pages load their scripts, styles, fonts and favicon from other hosts, so in a
control room without internet they stay blank. These are the same pages (FastAPI's
``get_swagger_ui_html`` and ``get_redoc_html``, without Google Fonts) pointed at the Swagger UI
and ReDoc bundles that the ``fastapi-offline`` package ships and at the service's own favicon,
all under ``ASSETS``. The app is made with ``docs_url=None, redoc_url=None`` so that FastAPI
adds no pages of its own.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS = "/docs"
REDOC = "/redoc"
ASSETS = "/docs/assets"
FAVICON = "favicon.svg"

# Looked in, in this order: the service's favicon, then the package's bundles.
_ASSET_DIRS: list[str | tuple[str, str]] = [
    ("service.api", "static"),
    ("fastapi_offline", "static"),
]

# The browser may fetch nothing from another host, even where the machine has internet: ReDoc's
# sidebar otherwise loads its vendor's logo from theirs. Swagger UI's start-up script is inline
# in its page, and both bundles set inline styles; ReDoc's search runs in a blob: worker.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:"
)


def install_docs(app: FastAPI) -> None:
    """Add /docs, its OAuth2 redirect, /redoc and the files they load.

    Paths are prefixed with the request's ``root_path``, as FastAPI's own pages do, so the
    pages still work behind a proxy that mounts the service under a prefix.
    """
    openapi_url = app.openapi_url
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url
    if openapi_url is None or oauth2_redirect_url is None:
        raise ValueError("the docs need the app's openapi_url and swagger_ui_oauth2_redirect_url")
    app.mount(ASSETS, StaticFiles(packages=_ASSET_DIRS), name="docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root_path(request)
        page = get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/{FAVICON}",
            oauth2_redirect_url=root + oauth2_redirect_url,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
        return _confined(page)

    async def swagger_ui_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = _root_path(request)
        page = get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/{FAVICON}",
            with_google_fonts=False,
        )
        return _confined(page)

    app.add_route(DOCS, swagger_ui, include_in_schema=False)
    app.add_route(oauth2_redirect_url, swagger_ui_redirect, include_in_schema=False)
    app.add_route(REDOC, redoc, include_in_schema=False)


def _root_path(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


def _confined(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return page
