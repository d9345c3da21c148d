"""Plan 6.1's figures (``service.plan.evaluation``, ``impact``, ``lapses``) as the evaluation
report's sections, with names for codes: units by their names, counties by their places."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from service.flows.events.schemas import (
    AgencyRead,
    CountyRestorationRead,
    LapseRead,
    OverviewRead,
    ReportLinkRead,
)
from service.plan.evaluation import ActionRecord, ReportFigures, agency_figures
from service.plan.impact import county_restoration, impact
from service.plan.lapses import lapses, report_links
from service.playbooks.bundle import Playbooks


def agencies(
    playbooks: Playbooks, actions: Sequence[ActionRecord], now: datetime
) -> list[AgencyRead]:
    """Each unit's duties, in agencies.yaml's order (units it does not hold last)."""
    order = {agency.code: place for place, agency in enumerate(playbooks.agencies)}
    figures = sorted(agency_figures(actions, now), key=lambda f: order.get(f.agency, len(order)))
    return [
        AgencyRead(
            agency=f.agency,
            name=playbooks.names.unit(f.agency),
            dispatched=f.dispatched,
            on_time=f.on_time,
            late=f.late,
            open=f.open,
            cancelled=f.cancelled,
            median_ack_minutes=f.median_ack_minutes,
            acknowledged=f.acknowledged,
            done=f.done,
        )
        for f in figures
    ]


def restoration_by_county(
    playbooks: Playbooks, reports: Sequence[ReportFigures], opened_at: datetime, causes: list[str]
) -> tuple[OverviewRead, list[CountyRestorationRead]]:
    """概况's figures and the restoration per county, timed from the event's opening."""
    worst = impact(reports)
    counties = [
        CountyRestorationRead(
            region=c.region,
            name=playbooks.names.place(c.region),
            peak_lost_mw=c.peak_lost_mw,
            latest_lost_mw=c.latest_lost_mw,
            restored=c.restored,
            minutes_to_80=c.minutes_to[0],
            minutes_to_90=c.minutes_to[1],
        )
        for c in county_restoration(reports, opened_at)
    ]
    overview = OverviewRead(
        causes=causes,
        peak_lost_mw=worst.peak_lost_mw,
        peak_at=worst.peak_at,
        load_mw=worst.load_mw,
        peak_share=worst.share,
        customers_out=worst.customers_out,
        counties=[c.name for c in counties],
    )
    return overview, counties


def late_duties(
    playbooks: Playbooks, actions: Sequence[ActionRecord], now: datetime
) -> list[LapseRead]:
    return [
        LapseRead(
            agency=x.agency,
            unit=playbooks.names.unit(x.agency),
            title=x.title,
            due_at=x.due_at,
            due_on=x.due_on,
            acknowledged_at=x.acknowledged_at,
            completed_at=x.completed_at,
            late=x.late,
            done=x.done,
        )
        for x in lapses(actions, now)
    ]


def reporting_chain(
    playbooks: Playbooks, actions: Sequence[ActionRecord], now: datetime
) -> list[ReportLinkRead]:
    return [
        ReportLinkRead(
            key=link.key,
            unit=playbooks.names.unit(link.agency),
            title=link.title,
            dispatched_at=link.dispatched_at,
            due_at=link.due_at,
            due_on=link.due_on,
            answered_at=link.answered_at,
            allowed_minutes=link.allowed_minutes,
            taken_minutes=link.taken_minutes,
            on_time=link.on_time,
            superseded=link.superseded,
            run=link.run,
            area=None if link.regarding is None else playbooks.names.place(link.regarding),
        )
        for link in report_links(actions, now)
    ]
