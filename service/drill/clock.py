"""The drill's clock as its runner keeps it (service.drill.runner): the scenario's minutes as
moments, carried to the service on the drill event's own clock (design § Drills).

The scenario's minute 0 is the moment the drill's first step opened its event, as the service
stamped it: ``start`` reads it back. From then on minute ``m`` is that moment plus ``m`` minutes,
whatever the speed, and ``advance`` moves the event's clock there (``POST
/events/{id}/drill-clock``) before the steps of that minute are played, with the admin token the
drill made for its clock alone. So what the service records (acknowledgements, lateness, the
response's duration, the reports' ``observed_at``) reads in the scenario's minutes, while the
runner waits only ``minutes × 60 / speed`` real seconds between steps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import httpx

from service.drill.calls import DrillStopped, call


class ScenarioClock:
    """Minute ``m`` of the scenario as a moment, and the event's clock moved on to it.

    ``before`` gives the time before the event exists (the first step's report is observed
    then): the runner's own sense of time."""

    def __init__(
        self, client: httpx.AsyncClient, headers: dict[str, str], before: Callable[[], datetime]
    ) -> None:
        self.client = client
        self.headers = headers
        self.before = before
        self.event_id: str | None = None
        self.origin: datetime | None = None
        self.minute = Decimal(0)

    def now(self) -> datetime:
        """The scenario's time now: the minute reached, or before the event the runner's."""
        if self.origin is None:
            return self.before()
        return self.at(self.minute)

    def at(self, minute: Decimal) -> datetime:
        if self.origin is None:
            raise RuntimeError("the drill's clock starts with its event")
        return self.origin + timedelta(minutes=float(minute))

    async def start(self, event_id: str, minute: Decimal, where: str) -> None:
        """Minute ``minute`` is where the event's clock stands now: it just opened the event."""
        event = await call(self.client, "GET", f"/events/{event_id}", self.headers, where)
        if event.get("drill_clock") is None:
            raise DrillStopped(
                f"{where}: the service keeps no clock for the drill event {event_id}"
            )
        self.event_id, self.minute = event_id, minute
        self.origin = datetime.fromisoformat(event["drill_clock"]) - timedelta(
            minutes=float(minute)
        )

    async def advance(self, minute: Decimal, where: str) -> None:
        """Move the event's clock on to ``minute`` (never back: a scenario's minutes never go
        back, and the service refuses it)."""
        if self.event_id is None or minute <= self.minute:
            return
        body = {"at": self.at(minute).isoformat()}
        path = f"/events/{self.event_id}/drill-clock"
        await call(self.client, "POST", path, self.headers, where, body)
        self.minute = minute
