"""The language of the API's words for people: the ``text`` of timeline entries, the evaluation
report (JSON, HTML, PDF) are Chinese unless the request's ``Accept-Language`` asks for English
(service.words). The board (outside ``/api/``) is Chinese: it is made for Shaoxing's command
centre, and each of its versions is drawn once for every viewer.

Problem+json speaks to programs and their developers first: English, unless the request asks
for Chinese (``problem_language``, read by service.api.problems)."""

from __future__ import annotations

from contextvars import ContextVar

from service.words import Locale, preferred, use

API_PREFIX = "/api/"
problem_language: ContextVar[Locale] = ContextVar("problem_language", default="en")


class SpeakingAs:
    """Within: everything an API request answers said in the language its ``Accept-Language``
    header (``header``, as sent) asks for: Chinese unless it asks for English, problems English
    unless it asks for Chinese. The door (``service.api.door``) enters one around each API
    request."""

    __slots__ = ("asked", "problems", "words")

    def __init__(self, header: bytes | None) -> None:
        # one reading of the header for both defaults
        self.asked = preferred(header.decode("latin-1")) if header else None
        self.words = use(self.asked or "zh")

    def __enter__(self) -> None:
        self.problems = problem_language.set(self.asked or "en")
        self.words.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.words.__exit__(*exc)
        problem_language.reset(self.problems)
