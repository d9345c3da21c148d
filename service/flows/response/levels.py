"""The response's level: the commander starts a response or sets its level (plan 5.1), and the
moves every starter shares (a report that reaches IV starts one too, service.flows.reports):
beginning, changing and ending a response, and what each dispatches (plan 5.1, 5.5, 6)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models import Event
from service.errors import Conflict, Said
from service.flows.actions.dispatch import dispatch, scene_of, started_items
from service.flows.actions.outstanding import cancel_open, hand_over, supersede, supersede_runs
from service.flows.context import AppContext
from service.flows.events.schemas import EventRead
from service.flows.response.running import run_command
from service.flows.response.schemas import LevelChange, Termination
from service.flows.warnings.early_warnings import standing_warnings_moved
from service.plan.actor import Actor
from service.plan.addressees import Scene, offices
from service.plan.duties import ENDED_PHASES, LEVELLED_PHASES, OPEN_STATES
from service.plan.jurisdiction import require_area, require_hq
from service.plan.leadership import Setter, commanded_lead, higher_lead, hq_rank
from service.plan.levels import Level, event_grade, level_rank
from service.plan.lifecycle import fire
from service.playbooks.bundle import Playbooks
from service.store import outbox, timeline
from service.store.batch import WriteBatch
from service.store.events import event_area


async def start_response(
    context: AppContext, actor: Actor, event_id: uuid.UUID, change: LevelChange
) -> EventRead:
    """Plan 5.1: a commander may start a response, even below 一般, with a reason."""
    playbooks = context.playbooks

    async def command(
        session: AsyncSession, batch: WriteBatch, event: Event, now: datetime
    ) -> None:
        require_area(
            actor, await event_area(session, event), playbooks.grids, Said("启动本事件的应急响应")
        )
        level = change.level
        lead = commanded_lead(level, actor.region or "", Setter.all_of(event.basis))
        require_hq(
            actor, lead, playbooks.grids, Said("启动 {level} 级应急响应", level=level), "5.1"
        )
        fire(event, "start_response")
        event.updated_at = now
        before = (event.level, event.response_level)
        await begin_response(
            session,
            batch,
            playbooks,
            event,
            level,
            await scene_of(session, event, lead=lead),
            actor,
            now,
            f"level {level} response started by {actor.label}: {change.reason}",
            reason=change.reason,
            discretionary=True,
            decided_by="commander",
        )
        await level_notice(session, batch, event, before, now)

    return await run_command(context, actor, event_id, command)


async def set_level(
    context: AppContext, actor: Actor, event_id: uuid.UUID, change: LevelChange
) -> EventRead:
    """Plan 5.1: adjust the response level; needs the leading HQ or above, before and after."""
    playbooks = context.playbooks

    async def command(
        session: AsyncSession, batch: WriteBatch, event: Event, now: datetime
    ) -> None:
        require_hq(actor, event.leading_hq, playbooks.grids, Said("调整响应级别"), "5.1")
        fire(event, "set_level")
        level = change.level
        lead = commanded_lead(level, actor.region or "", Setter.all_of(event.basis))
        if level_rank(level) > level_rank(event.response_level):
            # A rise never hands the lead down (an HQ that took the lead keeps it).
            lead = higher_lead(event.leading_hq, lead)
        if hq_rank(lead) > hq_rank(event.leading_hq):
            require_hq(
                actor,
                lead,
                playbooks.grids,
                Said("将应急响应提升到 {level} 级", level=level),
                "5.1",
            )
        if level == event.response_level:
            raise Conflict(Said("应急响应已是 {level} 级", level=level), rule="plan 5.1")
        event.updated_at = now
        scene = await scene_of(session, event, lead=lead)
        before = (event.level, event.response_level)
        await change_level(
            session, batch, playbooks, event, level, scene, actor, now, change.reason
        )
        await level_notice(session, batch, event, before, now)

    return await run_command(context, actor, event_id, command)


async def level_notice(
    session: AsyncSession,
    batch: WriteBatch,
    event: Event,
    before: tuple[Level | None, Level | None],
    now: datetime,
) -> None:
    """``event.level_changed`` when the event's level or its response's level moved from
    ``before`` (level, response level), with what they were; and when the response level moved,
    ``warning.updated`` for each warning that stands (plan 3.2.2.1: the public's warning)."""
    if (event.level, event.response_level) == before:
        return
    previous_level, previous_response_level = before
    await standing_warnings_moved(session, batch, event, previous_response_level, now)
    outbox.emit(
        batch,
        event,
        "event.level_changed",
        extra={
            "previous_level": previous_level,
            "previous_response_level": previous_response_level,
        },
        at=now,
    )


async def begin_response(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    level: Level,
    scene: Scene,
    actor: Actor,
    now: datetime,
    summary: str,
    **data: object,
) -> None:
    """Record the start (plan 5.1) and dispatch what the response owes from its start.

    The first-response items go out first, on the timeline before the start itself: plan 4's
    first reports (a run of the chain per county hit, or for the city) and 5.2.1's 先期处置 come
    "应急响应启动前", as soon as the event is known to be one. Then the response's own items,
    and the post-event ones that begin with it (plan 6.2).
    """
    event.response_level = level
    event.leading_hq = scene.leading_hq
    items = started_items(playbooks, event)
    first = [item for item in items if item.phase == "first_response"]
    # plan 4's first report (首报): a run of the chain for each county hit, or for the city
    await dispatch(session, batch, playbooks, event, first, actor, now, scene, runs="start")
    timeline.record(
        batch,
        event,
        "response_started",
        actor,
        summary,
        clause="5.1",
        at=now,
        level=level,
        leading_hq=scene.leading_hq,
        **data,
    )
    rest = [item for item in items if item.phase != "first_response"]
    await dispatch(session, batch, playbooks, event, rest, actor, now, scene)


async def change_level(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    level: Level,
    scene: Scene,
    actor: Actor,
    now: datetime,
    reason: str,
    *,
    by_report: bool = False,
) -> None:
    """Plan 5.1 "可视…调整响应级别": the new level's items the event lacks go out at once. The
    open duties whose job another item does at the new level (or none) are superseded first
    (``supersede``: the county's on-site HQ by the city's, the IV report by the I–III one); a
    lowering also cancels the pending items the new level lacks, with the reason, and brings
    back what an earlier rise superseded. When the lead changes with the level, the pending
    duties of the lead at the new level go to the new lead, due afresh (``hand_over``). Plan 4
    reports again (续报): a new run of the chain for each county hit (or the city) at the new
    level, which supersedes the open links of the runs before it but their receipts."""
    previous, previous_hq = event.response_level, event.leading_hq
    rising = level_rank(level) > level_rank(previous)
    event.response_level = level
    event.leading_hq = scene.leading_hq
    timeline.record(
        batch,
        event,
        "response_raised" if rising else "response_lowered",
        actor,
        f"response {'raised' if rising else 'lowered'} from {previous} to {level}: {reason}",
        clause="5.1",
        at=now,
        level=level,
        previous=previous,
        leading_hq=scene.leading_hq,
        # a report that reached the level raised it: no person's reason to show
        **({"by_report": True} if by_report else {"reason": reason}),
    )
    items = started_items(playbooks, event)
    await supersede(session, batch, playbooks, event, scene, actor, now, "5.1")
    if not rising:
        await cancel_open(
            session,
            batch,
            event,
            phases=LEVELLED_PHASES,
            states=("pending",),
            # plan 4's links are settled by the runs (below): a receipt stays owed
            keep_keys=[item.key for item in items] + sorted(playbooks.checklists.chain),
            reason=f"response lowered to {level}: {reason}",
            actor=actor,
            now=now,
            clause="5.1",
        )
    if previous_hq is not None and previous_hq != scene.leading_hq:
        await hand_over(session, batch, playbooks, event, scene.leading_hq, actor, now, "5.1")
    await follow_grade(session, batch, playbooks, event, scene, actor, now)
    await supersede_runs(session, batch, playbooks, event, actor, now, "level")
    await dispatch(session, batch, playbooks, event, items, actor, now, scene, runs="level")


async def follow_grade(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    scene: Scene,
    actor: Actor,
    now: datetime,
) -> None:
    """Plan 6 "根据事件分级": the post-event duties begun with the response (plan 6.2's
    investigation group) belong to the event's grade (``event_grade``), not to the response's
    level. When the grade rises (a 一般 outage reported 较大), the open ones of the lower grade
    are superseded by the grade's (one investigation group, ``job:``), and any other the grade
    lacks is cancelled; the caller then dispatches the grade's (``started_items``). A lowered
    response keeps them, the grade being what it was."""
    await supersede(session, batch, playbooks, event, scene, actor, now, "6.2")
    grade = event_grade(event.peak_level, event.response_level)
    items = [item for item in started_items(playbooks, event) if item.phase == "post_event"]
    await cancel_open(
        session,
        batch,
        event,
        phases=("post_event",),
        states=OPEN_STATES,
        keep_keys=[item.key for item in items],
        reason=f"event graded {grade}",
        actor=actor,
        now=now,
        clause="6.2",
    )


async def end_response(
    session: AsyncSession,
    batch: WriteBatch,
    playbooks: Playbooks,
    event: Event,
    actor: Actor,
    now: datetime,
    request: Termination,
    can_terminate: bool,
    unmet: list[dict[str, object]],
) -> None:
    """Plan 5.5: end the response (谁启动、谁终止); plan 4: its final report (终报), a last run of
    the chain for each county hit (or the city), which goes on after the end and supersedes the
    open links of the runs before it, their receipts staying owed; plan 6: dispatch the
    post-event work."""
    try:
        fire(event, "terminate", termination_conditions_met=can_terminate)
    except Conflict as refused:
        if event.state == "response":
            refused.restate(Said("预案5.5的终止条件尚未全部满足"))
            refused.extra.update(unmet=unmet, rule="plan 5.5", guard="terminate")
        raise
    reason = request.reason
    scene = await scene_of(session, event, reconstruction=request.reconstruction)
    # Plan 5.5 "应急响应终止后，相应应急指挥机构随即撤销": the HQs set up for the response
    # (those that commanded in it, service.plan.addressees) are dissolved with its end, on the
    # record.
    dissolved = [region for _hq, region in offices("commanding-hq", scene)]
    timeline.record(
        batch,
        event,
        "response_terminated",
        actor,
        "response terminated" + (f": {reason}" if reason else ""),
        clause="5.5",
        at=now,
        level=event.response_level,
        leading_hq=event.leading_hq,
        reconstruction=request.reconstruction,
        dissolved=dissolved,
    )
    extra = {"reason": reason, "reconstruction": request.reconstruction}
    outbox.emit(batch, event, "response.terminated", extra=extra, at=now)
    await supersede_runs(session, batch, playbooks, event, actor, now, "end")
    chain = playbooks.checklists.chain
    await cancel_open(
        session,
        batch,
        event,
        phases=ENDED_PHASES,
        states=OPEN_STATES,
        keep_keys=sorted(chain),
        reason="response terminated",
        actor=actor,
        now=now,
        clause="5.5",
    )
    links = [item for item in started_items(playbooks, event) if item.key in chain]
    await dispatch(session, batch, playbooks, event, links, actor, now, scene, runs="end")
    grade = event_grade(event.peak_level, event.response_level)
    if grade is None:
        return
    # Plan 6.1, 6.2 "根据事件分级": the grade decides who evaluates and investigates, whatever
    # level the response ended at.
    items = playbooks.checklists.items_at("terminated", grade)
    await dispatch(session, batch, playbooks, event, items, actor, now, scene)
