"""信息发布 (plan 5.4): what a public release may speak of, the states it goes through, and which
HQ reviews it before anything reaches the public.

Plan 5.4: "停电情况及事故处置等信息，由各级应急指挥部审核和发布。有关新闻稿须经县级以上应急
指挥部核实后…报道。对市内有重大影响的大面积停电事件的发展趋势、人员伤亡、经济损失等消息，
报请省应急指挥部或省政府审核后…报道。" design § Releases reads it as: every release is reviewed by
the leading HQ (every HQ that can lead is a county HQ or above); one that speaks of the trend,
casualties or economic losses of an event at II or above is reviewed by the province HQ.

The one definition of the topics and the states: the release model's CHECK constraints and the
API schemas derive from ``Topic`` and ``ReleaseState``.

Where the plan is silent, the service's choices (each marked "choice" below):

* the level the "II or above" rule weighs is the higher of the event's peak level and its
  response level (``judged_level``);
* with no HQ leading yet (monitoring, warning) the reviewer is the lowest HQ whose grid covers
  every grid the event names, as for publishing a warning (``covering_hq``);
* the reviewer is judged again when the release is decided, and never falls below the one named
  at proposal (``reviewer_now``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal, get_args

from service.errors import Forbidden, Said
from service.plan.actor import Actor
from service.plan.grids import GridRegistry
from service.plan.jurisdiction import at_or_above
from service.plan.leadership import CITY_HQ, PROVINCE_HQ, hq_rank
from service.plan.levels import Level, level_rank, max_level
from service.plan.lifecycle import EventState

# Plan 5.4 names 停电情况 (situation) and 事故处置 (handling) for every release, and 发展趋势
# (trend), 人员伤亡 (casualties) and 经济损失 (losses) for the ones the province reviews.
Topic = Literal["situation", "handling", "trend", "casualties", "losses"]
TOPICS: Final[tuple[Topic, ...]] = get_args(Topic)
PROVINCE_TOPICS: Final[frozenset[Topic]] = frozenset({"trend", "casualties", "losses"})
# 重大 (II) and 特别重大 (I): "对市内有重大影响的大面积停电事件", as design § Releases reads it.
PROVINCE_LEVEL: Final[Level] = "II"

# proposed → published (approved) or rejected; both final (choice: a rejected release is
# corrected by proposing a new one, so that what was refused stays on the record as it was).
ReleaseState = Literal["proposed", "published", "rejected"]
RELEASE_STATES: Final[tuple[ReleaseState, ...]] = get_args(ReleaseState)

# The event states in which releases are proposed and published (choice): from the first
# warning on, through the response and its aftermath (plan 6: investigation, compensation and
# rebuilding are news too), never once the event is closed and its HQ stood down.
PUBLISHING_STATES: Final[tuple[EventState, ...]] = (
    "monitoring",
    "warning",
    "response",
    "terminated",
)

# design § Roles: who besides commanders and dispatchers may propose. 市委宣传部 releases
# information (plan 5.2.3) and 绍兴电力局 tells the affected areas first (plan 5.2.3).
PROPOSING_AGENCIES: Final[tuple[str, ...]] = ("publicity", "power-company")


def require_proposer(actor: Actor) -> None:
    """Refuse (403) anyone design § Roles does not let propose: commanders, dispatchers and the
    agencies of ``PROPOSING_AGENCIES`` may."""
    actor.require("commander", "dispatcher", "agency")
    if actor.role == "agency" and actor.agency not in PROPOSING_AGENCIES:
        raise Forbidden(
            Said(
                "单位“{agency}”不能提出信息发布；可提出的单位：{allowed}",
                agency=actor.agency,
                allowed=", ".join(PROPOSING_AGENCIES),
            ),
            rule="plan 5.4 (design § Roles: commander, dispatcher, publicity, power-company)",
        )


def require_reviewer(actor: Actor, reviewing_hq: str, grids: GridRegistry, what: Said) -> None:
    """Refuse (403) unless ``actor`` commands the reviewing HQ or one above it (design § Roles)."""
    actor.require("commander")
    if not at_or_above(actor.region, reviewing_hq, grids):
        raise Forbidden(
            Said(
                "{what}：{region} 的指挥部既不是审核它的 {reviewer}，也不是其上级",
                what=what,
                region=actor.region,
                reviewer=reviewing_hq,
            ),
            rule="plan 5.4: the reviewing HQ or a higher one",
            reviewer=reviewing_hq,
        )


def judged_level(peak_level: Level | None, response_level: Level | None) -> Level | None:
    """The level "an event at II or above" is judged on: the higher of the two (choice).

    The peak, because an event that reached 重大 had that impact even after its response was
    lowered (the trend, casualties and losses of it still are major news); the response level,
    because a commander may respond at II to an event whose grids never reached it (plan 5.1).
    """
    return max_level(peak_level, response_level)


def covering_hq(area: Iterable[str], grids: GridRegistry) -> str:
    """The lowest HQ whose grid is or contains every grid of ``area`` (choice: who reviews
    while no HQ leads, the HQ that may publish a warning for that area, plan 3.2.2.1).

    One county's grids give that county's HQ; grids of several counties the city HQ; the
    province grid the province HQ. No known grid at all gives the city HQ, which organises
    across the city (plan 2.1).
    """
    known = sorted({code for code in area if code in grids})
    if not known:
        return CITY_HQ
    first = known[0]
    for candidate in [first, *(grid.code for grid in grids.ancestors(first))]:
        if all(grids.is_within(code, candidate) for code in known):
            return candidate
    return PROVINCE_HQ


def reviewer(
    level: Level | None, leading_hq: str | None, topics: Iterable[Topic], covering: str
) -> str:
    """The HQ that reviews a release (plan 5.4, design § Releases).

    ``level`` is the event's judged level (``judged_level``), ``leading_hq`` the HQ leading it
    (kept after termination as the record of who led), ``covering`` the HQ that reviews while
    none leads (``covering_hq``).

    A release about the trend, casualties or losses of an event at II or above goes to the
    province HQ. Any other goes to the leading HQ, or to ``covering`` before any HQ leads.

    At I and II the province HQ leads anyway (plan 5.1), so while the response is at I or II
    every release goes to the province whatever its topics, and I and II do not differ. The
    topics decide only once the response has been lowered below II after the event peaked at
    II or above: then trend, casualties and losses still go to the province, while the
    situation and its handling go to the HQ that now leads.
    """
    if level_rank(level) >= level_rank(PROVINCE_LEVEL) and PROVINCE_TOPICS.intersection(topics):
        return PROVINCE_HQ
    return leading_hq or covering


def reviewer_now(proposed: str, current: str) -> str:
    """Who must review when the release is decided, given the reviewer named at proposal and
    the one the event calls for now (choice: the rule is about what is published, so it is
    judged again at approval).

    The current one, unless it ranks below the one named at proposal: a level that rose since
    (to II with casualties named, or a lead handed up to the city) sends the release higher,
    and a response lowered since never sends it lower.
    """
    return current if hq_rank(current) >= hq_rank(proposed) else proposed
