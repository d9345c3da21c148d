"""Who hears a notice (service.plan.notifications.hears)."""

from __future__ import annotations

import pytest

from service.plan.notifications import hears


def _hears(**overrides: object) -> bool:
    given: dict[str, object] = {
        "agencies": None,
        "types": None,
        "drills": False,
        "notice_type": "action.dispatched",
        "audience": ["public-security"],
        "drill": False,
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
