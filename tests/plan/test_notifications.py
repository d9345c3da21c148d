"""Who hears a notice (service.plan.notifications.hears)."""

from __future__ import annotations

import pytest

from service.plan.notifications import CAP_TYPES, NOTICE_TYPES, PUBLIC_TYPES, hears


def _hears(**overrides: object) -> bool:
    given: dict[str, object] = {
        "agencies": None,
        "types": None,
        "drills": False,
        "notice_type": "action.dispatched",
        "audience": ["public-security"],
        "drill": False,
        "channel": None,
        "fmt": "standard",
    }
    given.update(overrides)
    return hears(**given)  # type: ignore[arg-type]


def test_a_subscription_with_no_filters_hears_every_real_notice() -> None:
    assert _hears()
    assert _hears(audience=None)


@pytest.mark.parametrize("drills", [False, True])
def test_a_drill_reaches_only_subscriptions_that_asked_for_drills(drills: bool) -> None:
    assert _hears(drill=True, drills=drills) is drills
    # asking for drills does not stop the real events
    assert _hears(drill=False, drills=drills)


def test_types_limit_what_is_heard() -> None:
    assert _hears(types=["action.dispatched", "action.overdue"])
    assert not _hears(types=["action.overdue"])


def test_agencies_hear_notices_that_concern_them_and_notices_for_everyone() -> None:
    assert _hears(agencies=["public-security", "transport"])
    assert not _hears(agencies=["transport"])
    assert _hears(agencies=["transport"], audience=None)
    assert not _hears(agencies=["transport"], audience=[])


@pytest.mark.parametrize("notice_type", NOTICE_TYPES)
def test_a_public_channel_hears_only_public_notices(notice_type: str) -> None:
    """Plan 3.2.2.1's green channel: whatever its ``types`` say (None: all), never a duty."""
    public = _hears(channel="media", notice_type=notice_type, audience=None)
    assert public is (notice_type in PUBLIC_TYPES)
    cap = _hears(channel="broadcast", fmt="cap", notice_type=notice_type, audience=None)
    assert cap is (notice_type in CAP_TYPES)
    # the service's own people hear them all
    assert _hears(notice_type=notice_type, audience=None)


def test_public_types_are_warnings_and_releases() -> None:
    assert set(CAP_TYPES) < set(PUBLIC_TYPES)
    assert {t.split(".")[0] for t in PUBLIC_TYPES} == {"warning", "release"}


def test_a_public_channel_hears_a_drill_only_when_it_asked() -> None:
    assert not _hears(channel="media", notice_type="warning.published", drill=True)
    assert _hears(channel="media", notice_type="warning.published", drill=True, drills=True)
