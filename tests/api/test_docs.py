"""The docs pages (service.api.docs) work with no other host, and their OpenAPI is whole.

A control room is often offline: every URL a page names, in its tags or in its inline start-up
script, must be a path of this service that answers with what the page expects, and no URL of
another host may appear. The client carries no token: the pages need none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

PAGES = ["/docs", "/redoc"]
HOST = "test"  # the client fixture's base_url

# The URLs Swagger UI's start-up script names: `url: '/openapi.json'`, `oauth2RedirectUrl:
# window.location.origin + '/docs/oauth2-redirect'`.
_SCRIPT_URL = re.compile(
    r"""\b\w*(?:url|Url)\s*:\s*(?:window\.location\.origin\s*\+\s*)?(['"])(.*?)\1"""
)
_ABSOLUTE_URL = re.compile(r"""https?://[^\s'"<>)]+""")
_URL_ATTRIBUTES = {"src", "href", "spec-url"}
# What a path must answer with, by the end of its name; anything else is a page.
_CONTENT_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


class _Page(HTMLParser):
    """The URLs a page names, each with the tag naming it, and its inline scripts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            if name in _URL_ATTRIBUTES and value is not None:
                self.urls.append((tag, value))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.scripts.append(data)
            self.urls += [("script", match[2]) for match in _SCRIPT_URL.finditer(data)]


async def _page(client: httpx.AsyncClient, path: str) -> tuple[httpx.Response, _Page]:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response, _Page(response.text)


def _same_host_path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme in ("", "http", "https"), url
    assert parts.netloc in ("", HOST), f"{url} is on another host"
    assert parts.path.startswith("/"), url
    return parts.path


@pytest.mark.parametrize("page", PAGES)
async def test_a_page_names_only_paths_of_the_service(client: httpx.AsyncClient, page: str) -> None:
    response, parsed = await _page(client, page)
    for url in _ABSOLUTE_URL.findall(response.text):
        assert urlsplit(url).netloc == HOST, f"{page} names {url}"
    tags = {tag for tag, _url in parsed.urls}
    assert {"script", "link"} <= tags, f"{page} loads no script or no stylesheet/icon: {tags}"
    for _tag, url in parsed.urls:
        path = _same_host_path(url)
        answer = await client.get(url)
        assert answer.status_code == 200, f"{page} names {url}: {answer.status_code}"
        expected = _CONTENT_TYPES.get(PurePosixPath(path).suffix, "text/html")
        assert answer.headers["content-type"].startswith(expected), (url, answer.headers)


@pytest.mark.parametrize("page", PAGES)
async def test_a_page_names_the_spec_and_the_favicon(client: httpx.AsyncClient, page: str) -> None:
    _response, parsed = await _page(client, page)
    urls = [url for _tag, url in parsed.urls]
    assert "/openapi.json" in urls
    icons = [url for url in urls if url.endswith("/favicon.svg")]
    assert len(icons) == 1, urls
    favicon = await client.get(icons[0])
    assert favicon.status_code == 200
    assert favicon.headers["content-type"] == "image/svg+xml"
    assert favicon.text.startswith("<svg")


async def test_swagger_ui_keeps_its_oauth2_redirect(client: httpx.AsyncClient) -> None:
    _response, parsed = await _page(client, "/docs")
    assert ("script", "/docs/oauth2-redirect") in parsed.urls
    redirect = await client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200
    assert "oauth2" in redirect.text


@pytest.mark.parametrize(
    ("page", "bundles"),
    [
        ("/docs", {"script": "SwaggerUIBundle", "link": ".swagger-ui"}),
        ("/redoc", {"script": "Redoc"}),
    ],
)
async def test_a_page_loads_the_real_bundles(
    client: httpx.AsyncClient, page: str, bundles: dict[str, str]
) -> None:
    """Not a stub of the same name: a bundle of a real size, with the name it defines."""
    _response, parsed = await _page(client, page)
    for tag, marker in bundles.items():
        files = [url for t, url in parsed.urls if t == tag and url.endswith((".js", ".css"))]
        assert files, f"{page} loads no {tag} bundle"
        for url in files:
            body = (await client.get(url)).text
            assert len(body) > 100_000, url
            assert marker in body, url


@pytest.mark.parametrize("page", PAGES)
async def test_a_page_keeps_the_browser_to_this_host(client: httpx.AsyncClient, page: str) -> None:
    """ReDoc's sidebar would load its vendor's logo from their host but for this policy."""
    response = await client.get(page)
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "img-src 'self' data:" in policy
    assert "http" not in policy


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolves(document: Any, ref: str) -> bool:
    """Whether ``ref`` is a JSON Pointer (RFC 6901) into ``document`` that finds something."""
    if not ref.startswith("#/"):
        return False
    node = document
    for token in ref[2:].split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return False
    return True


async def test_every_openapi_reference_resolves(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    refs = set(_refs(document))
    assert "#/components/schemas/Problem" in refs
    assert "#/components/schemas/FieldError" in refs
    assert sorted(ref for ref in refs if not _resolves(document, ref)) == []
