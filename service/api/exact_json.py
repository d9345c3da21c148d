"""Request bodies whose JSON numbers are read as the decimals they spell, not as binary floats.

Python's json module reads 60.39999999999999999 as the float 60.4: a figure finer than a report
may carry would be rounded to a nearby one, possibly across a plan 1.5 threshold (39.99…% read
as 40%), and classified instead of refused. Read as a Decimal, the number reaches the models as
written, so their checks (at most 6 decimal places, the range) judge what the client sent, the
same for a JSON number as for a decimal string.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, Final

from fastapi import Request, Response
from fastapi.routing import APIRoute

# One decoder for every body: json.loads given parse_float makes a new one each call.
EXACT_DECODER: Final = json.JSONDecoder(parse_float=Decimal)


def exact_json(body: bytes) -> Any:
    """``body`` read as json.loads reads bytes (UTF-8, -16 or -32), its numbers as decimals."""
    return EXACT_DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))


class ExactNumbersRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = exact_json(await self.body())
        return self._json


class ExactNumbersRoute(APIRoute):
    """A route whose JSON body is read by ``ExactNumbersRequest``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact(request: Request) -> Response:
            return await handler(ExactNumbersRequest(request.scope, request.receive))

        return exact
