"""Who reviews a public release (plan 5.4, design § Releases), as plain functions."""

from __future__ import annotations

import itertools
import uuid

import pytest

from service.errors import Forbidden
from service.plan.actor import Actor, Role
from service.plan.leadership import CITY_HQ, PROVINCE_HQ, leading_hq
from service.plan.levels import LEVELS, Level
from service.plan.releases import (
    PROVINCE_TOPICS,
    TOPICS,
    Topic,
    covering_hq,
    judged_level,
    require_proposer,
    require_reviewer,
    reviewer,
    reviewer_now,
)
from service.playbooks.grids import load_regions
from tests.helpers import PLAYBOOKS_DIR

GRIDS = load_regions(PLAYBOOKS_DIR / "regions.yaml")
KEQIAO, SHANGYU = "330603", "330604"

# Every topic alone, the two plan 5.4 names for every release together, and each of those with
# one the province reviews at II or above.
TOPIC_SETS: list[tuple[Topic, ...]] = [
    *((topic,) for topic in TOPICS),
    ("situation", "handling"),
    *(("situation", topic) for topic in sorted(PROVINCE_TOPICS)),
]
LEADS = [None, KEQIAO, CITY_HQ, PROVINCE_HQ]


def expected(level: Level | None, lead: str | None, topics: tuple[Topic, ...]) -> str:
    """design § Releases written out: trend, casualties or losses at II or above → the province HQ;
    anything else → the leading HQ, or the HQ covering the event's grids while none leads."""
    if level in ("I", "II") and set(topics) & {"trend", "casualties", "losses"}:
        return PROVINCE_HQ
    return lead or "covering"


@pytest.mark.parametrize(
    ("level", "lead", "topics"), list(itertools.product([None, *LEVELS], LEADS, TOPIC_SETS))
)
def test_reviewer_over_level_lead_and_topics(
    level: Level | None, lead: str | None, topics: tuple[Topic, ...]
) -> None:
    assert reviewer(level, lead, topics, "covering") == expected(level, lead, topics)


@pytest.mark.parametrize(
    ("level", "lead", "topics", "hq"),
    [
        # county-led IV → the county HQ, whatever the topics
        ("IV", KEQIAO, ("situation",), KEQIAO),
        ("IV", KEQIAO, ("casualties", "losses"), KEQIAO),
        # city-led III → the city HQ, trend included (below II the topics do not matter)
        ("III", CITY_HQ, ("trend",), CITY_HQ),
        # II with trend, casualties or losses → the province HQ
        ("II", PROVINCE_HQ, ("trend",), PROVINCE_HQ),
        ("II", PROVINCE_HQ, ("situation", "casualties"), PROVINCE_HQ),
        # II with only the situation and its handling → the leading HQ: the province at II
        ("II", PROVINCE_HQ, ("situation", "handling"), PROVINCE_HQ),
        ("I", PROVINCE_HQ, ("handling",), PROVINCE_HQ),
        # an event that peaked at II whose response was lowered to III (the city leads): only
        # here do the topics change the reviewer
        ("II", CITY_HQ, ("situation", "handling"), CITY_HQ),
        ("II", CITY_HQ, ("situation", "losses"), PROVINCE_HQ),
    ],
)
def test_reviewer_in_the_cases_design_names(
    level: Level, lead: str, topics: tuple[Topic, ...], hq: str
) -> None:
    assert reviewer(level, lead, topics, CITY_HQ) == hq


@pytest.mark.parametrize("level", ["I", "II"])
@pytest.mark.parametrize("topics", TOPIC_SETS)
def test_at_i_and_ii_the_province_leads_so_reviews_every_release(
    level: Level, topics: tuple[Topic, ...]
) -> None:
    """Plan 5.1 puts I and II under the province HQ: while the response is there, the trend rule
    adds nothing, and I does not differ from II."""
    lead = leading_hq(level, [])
    assert lead == PROVINCE_HQ
    assert reviewer(level, lead, topics, CITY_HQ) == PROVINCE_HQ


@pytest.mark.parametrize(
    ("peak", "response", "judged"),
    [
        (None, None, None),
        ("IV", None, "IV"),
        ("II", "III", "II"),  # lowered by a commander: the peak still counts
        (None, "II", "II"),  # a discretionary response above what the grids reached
        ("III", "II", "II"),
        ("I", "I", "I"),
    ],
)
def test_judged_level_is_the_higher_of_peak_and_response(
    peak: Level | None, response: Level | None, judged: Level | None
) -> None:
    assert judged_level(peak, response) == judged


@pytest.mark.parametrize(
    ("area", "hq"),
    [
        ([KEQIAO], KEQIAO),
        ([KEQIAO, KEQIAO], KEQIAO),
        (["330624", "330683"], CITY_HQ),
        ([KEQIAO, CITY_HQ], CITY_HQ),
        ([CITY_HQ], CITY_HQ),
        ([KEQIAO, PROVINCE_HQ], PROVINCE_HQ),
        ([], CITY_HQ),
        (["330699"], CITY_HQ),  # unknown codes are no grid
    ],
)
def test_covering_hq_is_the_lowest_hq_over_every_grid(area: list[str], hq: str) -> None:
    assert covering_hq(area, GRIDS) == hq


@pytest.mark.parametrize(
    ("proposed", "current", "required"),
    [
        (KEQIAO, KEQIAO, KEQIAO),
        (KEQIAO, CITY_HQ, CITY_HQ),  # the lead went up to the city
        (CITY_HQ, PROVINCE_HQ, PROVINCE_HQ),  # the level rose to II, casualties named
        (PROVINCE_HQ, CITY_HQ, PROVINCE_HQ),  # a lowered response never lowers the reviewer
        (CITY_HQ, KEQIAO, CITY_HQ),
        (KEQIAO, SHANGYU, SHANGYU),  # another county leads now: that one
    ],
)
def test_reviewer_now_never_falls_below_the_proposal(
    proposed: str, current: str, required: str
) -> None:
    assert reviewer_now(proposed, current) == required


def actor(role: Role, agency: str | None = None, region: str | None = None) -> Actor:
    return Actor(uuid.uuid4(), "someone", role, agency, region)


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        (actor("commander", region=KEQIAO), True),
        (actor("dispatcher"), True),
        (actor("agency", agency="publicity"), True),
        (actor("agency", agency="power-company"), True),
        (actor("agency", agency="health"), False),
        (actor("observer"), False),
        (actor("admin"), False),
    ],
    ids=lambda value: value.label if isinstance(value, Actor) else str(value),
)
def test_who_may_propose(who: Actor, allowed: bool) -> None:
    if allowed:
        require_proposer(who)
    else:
        with pytest.raises(Forbidden):
            require_proposer(who)


@pytest.mark.parametrize(
    ("region", "reviewing", "allowed"),
    [
        (KEQIAO, KEQIAO, True),
        (CITY_HQ, KEQIAO, True),
        (PROVINCE_HQ, KEQIAO, True),
        (SHANGYU, KEQIAO, False),
        (KEQIAO, CITY_HQ, False),
        (CITY_HQ, PROVINCE_HQ, False),
        (PROVINCE_HQ, PROVINCE_HQ, True),
    ],
)
def test_the_reviewing_hq_or_a_higher_one_decides(
    region: str, reviewing: str, allowed: bool
) -> None:
    commander = actor("commander", region=region)
    if allowed:
        require_reviewer(commander, reviewing, GRIDS, "approve")
        return
    with pytest.raises(Forbidden) as refused:
        require_reviewer(commander, reviewing, GRIDS, "approve")
    assert refused.value.extra["reviewer"] == reviewing
    with pytest.raises(Forbidden):
        require_reviewer(actor("dispatcher"), reviewing, GRIDS, "approve")
