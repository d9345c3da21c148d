"""A webhook receiver for the delivery benchmarks: a bare ASGI app (run by uvicorn in a process of
its own) that answers every POST 200 ``{}`` and counts what it got; ``GET /count`` answers
``{"hits": n, "ids": distinct webhook-ids}``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

_hits = 0
_ids: set[bytes] = set()


async def app(
    scope: Scope,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    global _hits
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    if scope["method"] == "POST":
        _hits += 1
        for name, value in scope["headers"]:
            if name == b"webhook-id":
                _ids.add(value)
        body = b"{}"
    else:
        body = json.dumps({"hits": _hits, "ids": len(_ids)}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
