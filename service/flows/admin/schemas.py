"""What the admin's endpoints take and answer, by section: subscriptions and their deliveries
(design § Notifications)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Final

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from service.flows.schemas import Text
from service.plan.notifications import Channel, DeliveryState, Format, NoticeType

# --- subscriptions ----------------------------------------------------------------------------


def _http_url(value: str) -> str:
    """Any http(s) URL with a host (loopback and private addresses included: a control room's
    chat gateway sits on its own network); kept as given."""
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ValueError(f"not a URL: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


# What is masked of a receiver's URL wherever it is shown (design § Notifications): the
# credentials of ``user:pass@`` (the user kept when a password follows it: a lone user is often
# a token), and the value of each query parameter named for a key, as the WeCom robot's
# ``key=`` and the DingTalk robot's ``access_token=``.
MASK: Final = "***"
SECRET_PARAMETERS: Final = (
    "key",
    "access_token",
    "token",
    "secret",
    "sign",
    "signature",
    "password",
    "api_key",
    "apikey",
)
_USERINFO: Final = re.compile(r"(?<=://)([^/?#@\s]*)@")
_PARAMETER: Final = re.compile(
    r"([?&;](?:" + "|".join(SECRET_PARAMETERS) + r")=)[^&#;\s]*", re.IGNORECASE
)


def _userinfo(match: re.Match[str]) -> str:
    user, colon, _password = match.group(1).partition(":")
    return f"{user}:{MASK}@" if colon else f"{MASK}@"


def masked(text: str) -> str:
    """``text`` (a URL, or an error that may quote one) with its credentials and robot keys
    masked: ``https://u:p@h/send?key=k`` → ``https://u:***@h/send?key=***``."""
    return _PARAMETER.sub(lambda m: m.group(1) + MASK, _USERINFO.sub(_userinfo, text))


def _masked_error(error: str | None) -> str | None:
    return None if error is None else masked(error)


class SubscriptionCreate(BaseModel):
    """A receiver of the service's notices: where they are posted, in which format, and which
    ones it hears."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "http://10.33.6.12:8080/outage-hooks",
                    "agencies": ["power-company"],
                    "types": ["action.dispatched", "action.overdue", "action.reminder"],
                },
                {
                    "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7b2c-4bc4-97a0-0ec2a1fa5aa1",
                    "format": "wecom",
                    "types": ["event.opened", "event.level_changed", "response.terminated"],
                },
                {
                    "url": "https://oapi.dingtalk.com/robot/send?access_token=4f1c2b7d9e0a",
                    "format": "dingtalk",
                    "secret": "SEC2f4d8c0e1b7a9f3c5d6e8a0b2c4d6e8f",
                    "drills": True,
                },
                {
                    "url": "https://alert.sxtv.example.cn/cap/inbox",
                    "format": "cap",
                    "channel": "broadcast",
                },
            ]
        },
    )

    url: Annotated[str, Field(max_length=2000), AfterValidator(_http_url)]
    format: Format = "standard"
    secret: Annotated[Text, Field(min_length=1, max_length=200)] | None = Field(
        default=None,
        description="standard: whsec_ and the base64 of 24–64 random bytes (generated when left "
        "out); dingtalk: the robot's SEC… secret (its messages are then signed); wecom: none",
    )
    agencies: list[str] | None = Field(
        default=None, description="agency codes it hears of (agencies.yaml); all when left out"
    )
    types: list[NoticeType] | None = Field(
        default=None, description="notice types it hears; all when left out"
    )
    drills: bool = Field(default=False, description="hear drills as well as real events")
    channel: Channel | None = Field(
        default=None,
        description="a public channel of plan 3.2.2.1's green channel (media, website, "
        "broadcast, telecom): it hears only published warnings, their updates and lifting, and "
        "approved releases, in the standard format (public content only) or as CAP",
    )


class SubscriptionRead(BaseModel):
    """A subscription as listed: never its secret, and its URL masked (``masked``)."""

    id: uuid.UUID
    url: Annotated[
        str,
        AfterValidator(masked),
        Field(description="where notices are posted, its credentials and robot key masked"),
    ]
    format: Format
    agencies: list[str] | None
    types: list[NoticeType] | None
    drills: bool
    channel: Channel | None
    created_at: datetime


class SubscriptionCreated(SubscriptionRead):
    """The answer to creating one: the only time its secret is shown."""

    secret: str | None


# --- deliveries -------------------------------------------------------------------------------


class DeliveryRead(BaseModel):
    """One notice to one subscription: how its sending went."""

    id: uuid.UUID = Field(description="the webhook-id, the same on every attempt and replay")
    subscription_id: uuid.UUID
    type: NoticeType
    event_id: uuid.UUID | None = Field(description="null for a standing task's notice")
    state: DeliveryState
    attempts: int
    last_status: int | None
    last_error: Annotated[str | None, AfterValidator(_masked_error)] = Field(
        description="why the last attempt failed, any URL in it masked as ``url`` is"
    )
    next_attempt_at: datetime
    delivered_at: datetime | None
