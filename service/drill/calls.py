"""The drill's requests to the service (service.drill.runner): each one's JSON answer, a refusal
for concurrent work sent again as any client should, and anything else stopping the drill with
``DrillStopped``, naming where it was and giving the service's problem+json."""

from __future__ import annotations

import asyncio
from typing import Any, Final

import httpx

API: Final = "/api/v1"
# What a client does with a refusal for concurrent work (409 Conflict, 503 with Retry-After):
# the same request again, a few times, after a short pause.
RETRIED: Final = frozenset({409, 503})
ATTEMPTS: Final = 3
PAUSE: Final = 0.2
MAX_PAUSE: Final = 1.0


class DrillStopped(Exception):
    """The service answered what the scenario did not expect; the message names the step."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    headers: dict[str, str],
    where: str,
    body: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
) -> Any:
    """The JSON answer of one request; DrillStopped naming ``where`` for anything but 2xx.

    A refusal for concurrent work (409, or 503 once the service's own retries ran out) changed
    nothing, and the same request a moment later usually goes through: it is sent again, up to
    ``ATTEMPTS`` times in all, after the ``Retry-After`` the service gives (at most
    ``MAX_PAUSE`` seconds) or a short pause. A conflict of the event's state answers the same
    each time, and stops the drill with that answer."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            answer = await client.request(
                method, API + path, headers=headers, json=body, params=params
            )
        except httpx.HTTPError as exc:
            raise DrillStopped(f"{where}: {method} {path}: no answer ({exc!r})") from exc
        if answer.status_code not in RETRIED or attempt == ATTEMPTS:
            break
        await asyncio.sleep(_pause(answer, attempt))
    if not answer.is_success:
        tries = f" (sent {ATTEMPTS} times)" if answer.status_code in RETRIED else ""
        raise DrillStopped(
            f"{where}: {method} {path} answered {answer.status_code}: {_problem(answer)}{tries}"
        )
    if "json" not in answer.headers.get("content-type", ""):
        return answer.content
    return answer.json()


def _pause(answer: httpx.Response, attempt: int) -> float:
    """Seconds to wait before sending a refused request again: the service's ``Retry-After``
    (seconds), capped, or a pause that grows with each attempt."""
    try:
        return min(float(answer.headers["retry-after"]), MAX_PAUSE)
    except (KeyError, ValueError):
        return min(PAUSE * attempt, MAX_PAUSE)


def _problem(answer: httpx.Response) -> str:
    """The problem+json's detail and each error's field and message, or the body's start."""
    try:
        problem = answer.json()
    except ValueError:
        return answer.text[:500]
    if not isinstance(problem, dict):
        return answer.text[:500]
    said = str(problem.get("detail") or problem.get("title") or "")
    for error in problem.get("errors") or []:
        if isinstance(error, dict):
            said += f"; {error.get('field', '?')}: {error.get('message', '')}"
    return said
