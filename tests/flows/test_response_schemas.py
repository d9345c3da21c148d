"""The request examples /docs shows for the emergency response's commands are requests the
service accepts: each validates against its own model (levels, region codes, attested
conditions, lengths, no unknown fields)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from service.flows.response.schemas import (
    AttestationCreate,
    Closure,
    Dismissal,
    LeadTaking,
    LevelChange,
    Termination,
)

BODIES: list[type[BaseModel]] = [
    LevelChange,
    LeadTaking,
    Dismissal,
    Termination,
    Closure,
    AttestationCreate,
]


def examples(model: type[BaseModel]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = model.model_json_schema().get("examples", [])
    return found


@pytest.mark.parametrize("model", BODIES, ids=lambda m: m.__name__)
def test_every_example_is_a_valid_request(model: type[BaseModel]) -> None:
    assert examples(model), f"{model.__name__} shows no example in /docs"
    for example in examples(model):
        assert model.model_validate(example).model_dump(exclude_unset=True) == example
