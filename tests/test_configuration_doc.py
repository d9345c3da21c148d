"""docs/configuration.md is what tools/configuration_doc.py writes from ``Settings``: a setting
added, renamed or redescribed without `make docs` fails here, and so does one with no
description."""

from __future__ import annotations

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

import tools.configuration_doc as configuration_doc
from service.config import Settings
from tests.helpers import REPO

DOC = REPO / "docs" / "configuration.md"


def test_the_document_is_what_the_generator_writes() -> None:
    assert DOC.read_text(encoding="utf-8") == configuration_doc.render(), (
        "docs/configuration.md lags service/config.py: run `make docs` and commit it"
    )


def test_every_setting_has_its_line() -> None:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    for name in Settings.model_fields:
        variable = f"OUTAGE_{name.upper()}"
        assert sum(line.startswith(f"| `{variable}` |") for line in lines) == 1, variable


def test_a_setting_without_a_description_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Bare(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="OUTAGE_")

        described: int = Field(default=1, ge=0, description="says what it does")
        silent: int = 2

    monkeypatch.setattr(configuration_doc, "Settings", Bare)
    with pytest.raises(ValueError, match=r"Settings\.silent has no"):
        configuration_doc.render()
