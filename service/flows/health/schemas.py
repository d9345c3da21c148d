"""What GET /healthz answers while the service and its database are up."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class HealthRead(BaseModel):
    """The service answers, and so does its database."""

    status: Literal["ok"]
    database: Literal["ok"]
