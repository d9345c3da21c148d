"""A POST answered once per ``Idempotency-Key`` (design § Idempotency), at the door: the header,
the request as its flow weighs it (``Once``), and the flow's ``Answer`` sent as it is."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Request
from fastapi.responses import Response
from pydantic import BaseModel

from service.flows.once import Answer, Once

IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=200,
        description="any string up to 200 characters: a repeat with the same key and body gets "
        "the first answer, and changes nothing again",
    ),
]


def once_of(request: Request, key: str | None, body: BaseModel) -> Once:
    """The request under ``key``: its method, its path and its validated ``body``."""
    return Once.of(key, request.method, request.url.path, body)


def answered(answer: Answer) -> Response:
    """The flow's answer, its status and its JSON body as given (or replayed)."""
    return Response(answer.body, status_code=answer.status, media_type="application/json")
