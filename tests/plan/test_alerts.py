"""A warning's CAP messages as a plain function: each moment one message with its own
identifier, the chain's updates and cancellation naming the messages before them, severity from
the response level of the moment."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from service.plan.alerts import (
    SEVERITY,
    LevelAt,
    WarningMoments,
    identifier,
    level_at,
    warning_messages,
)
from service.plan.levels import LEVELS

WARNING = uuid.UUID("6f1c2a52-0c39-4c4e-9d43-1d2b5a1e0b7e")
T0 = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def moments(
    published: float | None = None, lifted: float | None = None, drill: bool = False
) -> WarningMoments:
    return WarningMoments(
        WARNING,
        drill,
        proposed_at=at(0),
        published_at=None if published is None else at(published),
        lifted_at=None if lifted is None else at(lifted),
    )


def test_severity_follows_the_level_in_order() -> None:
    assert [SEVERITY[level] for level in LEVELS] == ["Extreme", "Severe", "Moderate", "Minor"]
    assert SEVERITY[None] == "Unknown"


def test_a_proposal_is_a_draft_alone() -> None:
    [draft] = warning_messages(moments(), [])
    assert (draft.status, draft.msg_type, draft.sent, draft.references) == (
        "Draft",
        "Alert",
        at(0),
        (),
    )
    assert draft.severity == "Unknown"


def test_the_whole_chain_of_a_lifted_warning() -> None:
    """Published at 10; a response starts at IV at 20 and rises to III at 40, a lead taken at
    50 changes no level; lifted at 60; a rise after the lifting is no message of it."""
    levels = [
        LevelAt("IV", at(20), seq=7),
        LevelAt("III", at(40), seq=12),
        LevelAt("II", at(90), seq=30),
    ]
    sent = warning_messages(moments(published=10, lifted=60), levels)
    assert [(m.moment, m.msg_type, m.status, m.sent, m.severity) for m in sent] == [
        ("proposed", "Alert", "Draft", at(0), "Unknown"),
        ("published", "Alert", "Actual", at(10), "Unknown"),
        ("level-7", "Update", "Actual", at(20), "Minor"),
        ("level-12", "Update", "Actual", at(40), "Moderate"),
        ("lifted", "Cancel", "Actual", at(60), "Moderate"),
    ]
    alert, first, second, cancel = sent[1:]
    assert alert.references == ()
    assert first.references == (alert,)
    assert second.references == (alert, first)
    assert cancel.references == (alert, first, second)  # the one before included
    identifiers = [m.identifier for m in sent]
    assert len(set(identifiers)) == len(identifiers)
    assert identifiers[1] == f"urn:uuid:{uuid.uuid5(WARNING, 'published')}"


def test_the_messages_are_derived_the_same_every_time() -> None:
    levels = [LevelAt("IV", at(20), seq=7)]
    assert warning_messages(moments(10, 60), levels) == warning_messages(moments(10, 60), levels)
    other = uuid.UUID(int=1)
    assert identifier(WARNING, "lifted") != identifier(other, "lifted")


def test_a_warning_published_during_a_response_takes_its_level() -> None:
    levels = [LevelAt("II", at(5), seq=3)]
    _draft, alert, cancel = warning_messages(moments(published=10, lifted=30), levels)
    assert (alert.severity, cancel.severity) == ("Severe", "Severe")


def test_a_drill_is_an_exercise_throughout() -> None:
    sent = warning_messages(moments(published=10, lifted=20, drill=True), [])
    assert {m.status for m in sent} == {"Exercise"}


@pytest.mark.parametrize(
    ("minute", "level"), [(0, None), (20, "IV"), (39, "IV"), (40, "II"), (100, "II")]
)
def test_level_at(minute: float, level: str | None) -> None:
    # two levels set at one moment: the later entry holds
    levels = [LevelAt("IV", at(20), 7), LevelAt("III", at(40), 8), LevelAt("II", at(40), 9)]
    assert level_at(levels, at(minute)) == level
