"""What a release request carries and what the API answers (plan 5.4)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from models import Release
from service.flows.schemas import HQ, Text
from service.plan.grids import GridRegistry
from service.plan.releases import TOPICS, ReleaseState, Topic


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# What a release says is read by the public: any ``Text`` (no control characters) but blank.
ReleaseText = Annotated[Text, AfterValidator(_not_blank)]


class ReleaseCreate(BaseModel):
    """A release proposed for review: nothing is public until an HQ approves it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "headline": "柯桥区停电情况通报",
                    "body": "7月20日14时起，柯桥区部分区域停电，约15万户受影响。国网绍兴供电公司"
                    "已组织抢修，预计今晚22时前恢复主要负荷。",
                    "topics": ["situation", "handling"],
                },
                {
                    "headline": "绍兴市大面积停电事件发展趋势",
                    "body": "全市损失负荷约600兆瓦，越城区、柯桥区、上虞区受影响较重。",
                    "topics": ["situation", "trend"],
                },
            ]
        },
    )

    headline: Annotated[ReleaseText, Field(min_length=1, max_length=200)]
    body: Annotated[ReleaseText, Field(min_length=1, max_length=8000)]
    topics: Annotated[
        list[Topic],
        Field(
            min_length=1,
            max_length=len(TOPICS),
            description="what the release speaks of; trend, casualties or losses of an event "
            "at II or above send it to the province HQ for review (plan 5.4)",
        ),
    ]

    @field_validator("topics")
    @classmethod
    def _distinct(cls, topics: list[Topic]) -> list[Topic]:
        if len(set(topics)) != len(topics):
            raise ValueError("a topic appears more than once")
        return [topic for topic in TOPICS if topic in topics]


class ReleaseApproval(BaseModel):
    """An approval: the release is published; the note is kept with it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "内容核实无误，同意发布"}, {}]},
    )

    reason: Annotated[ReleaseText | None, Field(max_length=2000)] = None


class ReleaseRejection(BaseModel):
    """A rejection: the release is never published; the reason is told to the proposer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "停电户数与供电公司最新报告不符，请核实后重新提交"}]
        },
    )

    reason: Annotated[
        ReleaseText, Field(min_length=1, max_length=2000, description="told to the proposer")
    ]


class ReleaseRead(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    drill: bool = Field(description="a release of a drill event: an exercise, never public")
    state: ReleaseState
    headline: str
    body: str
    topics: list[Topic]
    reviewer: HQ = Field(
        description="the HQ that must review it (judged again until it is decided) or did"
    )
    proposed_by: str
    proposed_at: datetime
    approved_by: str | None
    published_at: datetime | None
    rejected_by: str | None
    rejected_at: datetime | None
    reason: str | None = Field(description="why it was rejected, or the approver's note")

    @classmethod
    def of(cls, release: Release, drill: bool, review: str, grids: GridRegistry) -> ReleaseRead:
        published = release.state == "published"
        rejected = release.state == "rejected"
        return cls(
            id=release.id,
            event_id=release.event_id,
            drill=drill,
            state=release.state,
            headline=release.headline,
            body=release.body,
            topics=release.topics,
            reviewer=HQ(region=review, name=grids.hq_name(review)),
            proposed_by=release.proposer,
            proposed_at=release.proposed_at,
            approved_by=release.decider if published else None,
            published_at=release.decided_at if published else None,
            rejected_by=release.decider if rejected else None,
            rejected_at=release.decided_at if rejected else None,
            reason=release.reason,
        )
