"""Attestations: a dispatcher's or commander's statement that one of plan 5.5's conditions holds
(the main grid stable, the hazards removed, the secondary events handled), with evidence.

A statement counts while it stands. Its maker, anyone else who may attest on the event, or a
commander of the leading HQ (or above) withdraws it with a reason; a later report that worsens
the situation (service.plan.relapse) voids it. Either way it is kept, on the timeline and in the
termination check, and the check needs a fresh one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Attestation, Event, EventGrid
from models.base import utcnow
from service.errors import Conflict, Said
from service.flows.context import AppContext
from service.flows.once import NO_KEY, Answer, Once, answer_once
from service.flows.reports.schemas import ReportCreate
from service.flows.response.schemas import AttestationCreate, AttestationRead, WithdrawalCreate
from service.plan.actor import Actor, Role
from service.plan.grids import GridRegistry
from service.plan.jurisdiction import lead_or_holder, require_area
from service.plan.relapse import Fresh, Known, Worse, worsened
from service.plan.termination import Attested, Voiding, Withdrawal
from service.store import timeline
from service.store.batch import WriteBatch
from service.store.events import event_area, event_time, grids_of, lock_child, lock_event
from service.store.transactions import in_transaction


async def attest(
    context: AppContext,
    actor: Actor,
    event_id: uuid.UUID,
    body: AttestationCreate,
    once: Once = NO_KEY,
) -> Answer:
    """Record the statement on an event in response within the caller's area, with the grids
    as it knows them; it counts in the termination check from then on, while it stands (the
    latest standing statement on a condition decides it). Once per ``Idempotency-Key`` when
    ``once`` carries one: a statement sent twice is one statement. The answer is the
    attestation's JSON (201)."""
    playbooks = context.playbooks

    async def work(session: AsyncSession, batch: WriteBatch) -> AttestationRead:
        actor.require("dispatcher", "commander")
        event = await lock_event(session, event_id)
        now = event_time(event, utcnow())
        require_area(
            actor,
            await event_area(session, event),
            playbooks.grids,
            Said("确认预案5.5的终止条件"),
        )
        _require_response(
            event,
            Said("只能为应急响应中的事件确认终止条件；此事件处于“{state}”", state=event.state),
        )
        statement = Attestation(
            id=uuid.uuid4(),
            event_id=event.id,
            condition=body.condition,
            evidence=body.evidence,
            actor_id=actor.id,
            actor=actor.label,
            at=now,
            known=known_json((await grids_of(session, event)).values()),
        )
        batch.add_object(statement)
        timeline.record(
            batch,
            event,
            "attestation",
            actor,
            f"{body.condition} attested: {body.evidence}",
            clause="5.5",
            at=now,
            condition=body.condition,
        )
        return read(statement)

    return await answer_once(context, actor, once, 201, work)


async def withdraw(
    context: AppContext,
    actor: Actor,
    event_id: uuid.UUID,
    attestation_id: uuid.UUID,
    body: WithdrawalCreate,
) -> AttestationRead:
    """Withdraw a standing attestation of an event in response, with a reason: it no longer
    counts in the termination check, which shows it withdrawn (who, when, why)."""
    grids = context.playbooks.grids

    async def work(session: AsyncSession) -> AttestationRead:
        now = utcnow()
        async with WriteBatch(session) as batch:
            actor.require("dispatcher", "commander")
            event, statement = await lock_child(
                session, Attestation, attestation_id, Attestation.event_id == event_id
            )
            now = event_time(event, now)
            await _require_withdrawer(session, actor, event, grids)
            _require_response(
                event,
                Said("只能在应急响应中撤回终止条件确认；此事件处于“{state}”", state=event.state),
            )
            if statement.withdrawn_at is not None or statement.voided_at is not None:
                state = "withdrawn" if statement.withdrawn_at is not None else "voided"
                raise Conflict(
                    Said("此终止条件确认已撤回或作废，不再计入终止条件核查"),
                    state=state,
                    rule="plan 5.5: only a standing attestation is withdrawn",
                )
            statement.withdrawn_at = now
            statement.withdrawn_by_id = actor.id
            statement.withdrawn_by = actor.label
            statement.withdrawal_reason = body.reason
            timeline.record(
                batch,
                event,
                "attestation_withdrawn",
                actor,
                f"{statement.condition} attestation {statement.id} withdrawn: {body.reason}",
                clause="5.5",
                at=now,
                attestation_id=str(statement.id),
                condition=statement.condition,
                reason=body.reason,
            )
        return read(statement)

    return await in_transaction(context.sessions, work)


async def _require_withdrawer(
    session: AsyncSession, actor: Actor, event: Event, grids: GridRegistry
) -> None:
    """Whoever may attest on the event (a dispatcher or commander whose area takes in its
    grids), or a commander of the HQ that leads its response or of one above it: the HQ that
    ends the response (plan 5.5) may take back a statement it would otherwise end it on."""
    what = Said("撤回预案5.5的终止条件确认")
    holders: tuple[Role, ...] = ("dispatcher", "commander")
    if lead_or_holder(actor, event.leading_hq, grids, what, "5.5", holders) == "lead":
        return
    require_area(actor, await event_area(session, event), grids, what)


def _require_response(event: Event, refusal: Said) -> None:
    if event.state != "response":
        raise Conflict(refusal, state=event.state, rule="plan 5.5")


# --- a report that worsens the situation ----------------------------------------------------------


def relapse(event: Event, grids: Mapping[str, EventGrid], body: ReportCreate) -> list[Fresh]:
    """Before ``body`` is folded into the event's ``grids``: the figures it leaves standing as
    their grids' latest, when the event is in response and they are worse than the grids now
    stand; else none. A report no worse than the grids now stand is no worse than any standing
    attestation knew them, as a worse one would have voided it."""
    if event.state != "response":
        return []
    fresh = [
        Fresh(s.region, s.load_lost_mw, s.customers_out)
        for s in body.snapshots
        if (row := grids.get(s.region)) is None or body.observed_at >= row.observed_at
    ]
    return fresh if worsened(known_now(grids.values()), fresh) else []


async def void_worsened(
    session: AsyncSession,
    batch: WriteBatch,
    event: Event,
    fresh: list[Fresh],
    report_id: uuid.UUID,
    now: datetime,
) -> None:
    """Void each standing attestation of ``event`` that the report's ``fresh`` figures show
    the situation worse than it knew; one timeline entry names them, and the report. The
    caller holds the event's lock."""
    standing = await session.scalars(
        select(Attestation)
        .where(
            Attestation.event_id == event.id,
            Attestation.withdrawn_at.is_(None),
            Attestation.voided_at.is_(None),
        )
        .order_by(Attestation.at)
    )
    voided: list[Attestation] = []
    regions: dict[str, None] = {}
    for statement in standing:
        worse = worsened(known_of(statement.known), fresh)
        if not worse:
            continue
        statement.voided_at = now
        statement.voided_by_report = report_id
        statement.voided_grids = [_worse_json(w) for w in worse]
        voided.append(statement)
        regions.update(dict.fromkeys(w.region for w in worse))
    if not voided:
        return
    timeline.record(
        batch,
        event,
        "attestations_voided",
        None,
        f"report {report_id} worsened the situation ({', '.join(regions)}): "
        f"{len(voided)} attestation(s) voided",
        clause="5.5",
        at=now,
        report_id=str(report_id),
        attestations=[str(s.id) for s in voided],
        conditions=[s.condition for s in voided],
        grids=list(regions),
    )


# --- an attestation as stored and as the plan reads it --------------------------------------------


def known_now(grids: Iterable[EventGrid]) -> dict[str, Known]:
    """The event's grids as a statement made now knows them."""
    return {
        g.region: Known.of(g.load_lost_mw, g.peak_load_lost_mw, g.peak_customers_out) for g in grids
    }


def known_json(grids: Iterable[EventGrid]) -> dict[str, Any]:
    """``known_now`` as ``Attestation.known`` holds it."""
    return {
        region: {"lost": str(known.lost), "hit": known.hit}
        for region, known in known_now(grids).items()
    }


def known_of(data: Mapping[str, Any]) -> dict[str, Known]:
    return {region: Known(Decimal(g["lost"]), bool(g["hit"])) for region, g in data.items()}


def _worse_json(worse: Worse) -> dict[str, Any]:
    return {
        "region": worse.region,
        "known_lost_mw": None if worse.known_lost is None else str(worse.known_lost),
        "lost_mw": str(worse.lost),
        "newly_hit": worse.newly_hit,
    }


def statement_of(row: Attestation) -> Attested:
    """A stored attestation as plan 5.5's check reads it, withdrawn or voided as it is."""
    withdrawal = voiding = None
    if row.withdrawn_at is not None:
        withdrawal = Withdrawal(
            row.withdrawn_by or "", row.withdrawn_at, row.withdrawal_reason or ""
        )
    elif row.voided_at is not None:
        grids = tuple(
            Worse(
                g["region"],
                None if g["known_lost_mw"] is None else Decimal(g["known_lost_mw"]),
                Decimal(g["lost_mw"]),
                bool(g["newly_hit"]),
            )
            for g in row.voided_grids or ()
        )
        voiding = Voiding(row.voided_at, str(row.voided_by_report), grids)
    return Attested(
        row.condition, row.evidence, row.actor, row.at, str(row.id), withdrawal, voiding
    )


def read(row: Attestation) -> AttestationRead:
    return AttestationRead.of(statement_of(row), event_id=row.event_id)
