"""The language of the API's words for people: the ``text`` of timeline entries, the evaluation
report (JSON, HTML, PDF) are Chinese unless the request's ``Accept-Language`` asks for English
(service.words). The board (outside ``/api/``) is Chinese: it is made for Shaoxing's command
centre, and each of its versions is drawn once for every viewer.

Problem+json speaks to programs and their developers first: English, unless the request asks
for Chinese (``problem_language``, read by service.api.problems)."""

from __future__ import annotations

from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

from service.words import Locale, preferred, use

API_PREFIX = "/api/"
problem_language: ContextVar[Locale] = ContextVar("problem_language", default="en")


class Language:
    """Pure ASGI: says everything an API request answers in the language it asks for."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        header = next(
            (
                value.decode("latin-1")
                for name, value in scope["headers"]
                if name == b"accept-language"
            ),
            None,
        )
        asked = preferred(header)  # one reading of the header for both defaults
        token = problem_language.set(asked or "en")
        try:
            with use(asked or "zh"):
                await self.app(scope, receive, send)
        finally:
            problem_language.reset(token)
