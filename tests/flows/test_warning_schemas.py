"""The request examples /docs shows for early warnings are requests the service accepts, and a
proposal's own rules hold: its regions distinct, ``expires`` after ``onset``."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from service.flows.warnings.schemas import WarningCreate, WarningDecision

PROPOSAL: dict[str, Any] = {
    "area": ["330603", "330604"],
    "headline": "台风预计影响柯桥区、上虞区电网",
    "description": "沿海线路可能大面积跳闸",
}


@pytest.mark.parametrize("model", [WarningCreate, WarningDecision], ids=lambda m: m.__name__)
def test_every_example_is_a_valid_request(model: type[BaseModel]) -> None:
    shown: list[dict[str, Any]] = model.model_json_schema().get("examples", [])
    assert shown, f"{model.__name__} shows no example in /docs"
    for example in shown:
        assert model.model_validate(example).model_dump(mode="json", exclude_unset=True) == example


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"area": ["330603", "330603"]}, "a region appears more than once"),
        (
            {"onset": "2026-09-15T08:00:00+08:00", "expires": "2026-09-15T08:00:00+08:00"},
            "expires must be after onset",
        ),
    ],
)
def test_a_proposal_breaking_its_rules_is_refused(change: dict[str, Any], message: str) -> None:
    WarningCreate.model_validate(PROPOSAL)
    with pytest.raises(ValidationError, match=message):
        WarningCreate.model_validate(PROPOSAL | change)
