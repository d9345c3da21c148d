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


# FastAPI's own operation id when none is given: the function's name, the path with every
# non-word character as "_", then the method ("post_ack_api_v1_actions__action_id__ack_post").
_GENERATED_ID = re.compile(r"_(get|post|put|patch|delete)$")
_OPERATION_ID = re.compile(r"^[a-z]+(_[a-z0-9]+)*$")


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


async def test_every_operation_explains_itself(client: httpx.AsyncClient) -> None:
    """/docs reads as documentation: every operation has a summary written for people (not
    FastAPI's title-cased function name, "Post Ack"), a description, a meaningful snake_case
    operation id of its own, and examples of the JSON body it takes."""
    document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    seen: dict[str, str] = {}
    for method, path, operation in _operations(document):
        where = f"{method} {path}"
        summary = operation.get("summary", "")
        assert summary and summary != summary.title(), f"{where}: summary {summary!r}"
        assert len(operation.get("description", "")) >= 40, f"{where}: no description"
        operation_id = operation.get("operationId", "")
        assert _OPERATION_ID.match(operation_id), f"{where}: operation id {operation_id!r}"
        assert not _GENERATED_ID.search(operation_id), f"{where}: generated id {operation_id}"
        assert operation_id not in seen, f"{where} and {seen.get(operation_id)}: {operation_id}"
        seen[operation_id] = where
        body = operation.get("requestBody")
        if body is not None:
            reference = body["content"]["application/json"]["schema"]["$ref"]
            model = reference.rsplit("/", 1)[1]
            assert schemas[model].get("examples"), f"{where}: no examples of {model}"
    assert len(seen) >= 40  # every route of the API, the health check among them
