"""Every CAP document the service writes is CAP 1.2: valid against OASIS's schema
(tests/data/CAP-v1.2.xsd) and by the rules the schema cannot say (identifiers without spaces or
commas, references as ``sender,identifier,sent``). A warning's life, on SQLite and PostgreSQL,
the service's clock held at the script's minutes after T0 (14:00 in Shaoxing):

    0   proposed for 柯桥区 and 上虞区                       Draft
    10  published by the city HQ                           Alert    severity Unknown
    20  a report: 柯桥区 at level IV, the response starts    Update   Minor
    40  a report: level III                                Update   Moderate
    60  lifted by the city HQ                              Cancel   Moderate

and a drill's warning, Exercise from proposal to lifting. Every message carries onset, expires
(the warning's own, else its time plus the settings' lifetime: each Update renews it),
instruction, web (the public page) and contact; sender, senderName, contact and lifetime are
the settings' (``CapSource``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError

from service.config import Settings
from service.flows.context import AppContext
from service.flows.warnings.cap import CapSource, cap_alert
from service.flows.warnings.schemas import WarningRead
from service.plan.alerts import WarningMoments, warning_messages
from service.playbooks.bundle import Playbooks
from tests.helpers import (
    CAP,
    PLAYBOOKS_DIR,
    T0,
    Clock,
    MakeToken,
    cap_faults,
    county,
    post,
    report,
)

API = "/api/v1"
SENDER = "outage-coordinator@shaoxing.gov.cn"


class Message:
    """One CAP document as the tests read it."""

    def __init__(self, document: bytes) -> None:
        assert cap_faults(document) == [], document.decode()
        self.root = ET.fromstring(document)

    def __getitem__(self, tag: str) -> str:
        return self.root.findtext(f"{CAP}{tag}") or ""

    @property
    def severity(self) -> str:
        return self.root.findtext(f"{CAP}info/{CAP}severity") or ""

    def info(self, tag: str) -> str:
        return self.root.findtext(f"{CAP}info/{CAP}{tag}") or ""

    @property
    def references(self) -> list[str]:
        return self["references"].split()

    def reference(self) -> str:
        """How a later message names this one."""
        return f"{self['sender']},{self['identifier']},{self['sent']}"


def shaoxing(minutes: float) -> str:
    """T0 + ``minutes`` as a CAP time in Shaoxing's zone."""
    return (T0 + timedelta(minutes=minutes)).astimezone(ZoneInfo("Asia/Shanghai")).isoformat()


async def read_cap(client: httpx.AsyncClient, headers: dict[str, str], warning_id: str) -> Message:
    answer = await client.get(f"{API}/warnings/{warning_id}/cap", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/cap+xml")
    return Message(answer.content)


async def call(client: httpx.AsyncClient, path: str, headers: dict[str, str], **body: Any) -> Any:
    answer = await client.post(f"{API}{path}", json=body, headers=headers)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def test_every_message_of_a_warnings_life_is_valid_cap(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock, context: AppContext
) -> None:
    dispatcher = await make_token("dispatcher")
    city = await make_token("commander", region="330600")
    observer = await make_token("observer")
    area = ["330603", "330604"]
    clock.set(0)
    warning = await call(
        client, "/warnings", dispatcher, area=area, headline="台风预警", description="预计停电"
    )
    wid, event_id = warning["id"], warning["event_id"]
    messages = [await read_cap(client, dispatcher, wid)]
    clock.set(10)
    await call(client, f"/warnings/{wid}/publish", city)
    messages.append(await read_cap(client, observer, wid))
    for minute, lost in ((20, 90), (40, 130)):  # 柯桥区 (200 MW) at IV, then at III
        clock.set(minute)
        body = report(county("330603", 200, lost), minutes=minute) | {"event_id": event_id}
        await post(client, dispatcher, body)
        messages.append(await read_cap(client, observer, wid))
    clock.set(60)
    await call(client, f"/warnings/{wid}/lift", city, reason="台风已过境")
    messages.append(await read_cap(client, observer, wid))

    draft, alert, rise, rise_again, cancel = messages
    assert [(m["status"], m["msgType"], m.severity, m["sent"]) for m in messages] == [
        ("Draft", "Alert", "Unknown", shaoxing(0)),
        ("Actual", "Alert", "Unknown", shaoxing(10)),
        ("Actual", "Update", "Minor", shaoxing(20)),
        ("Actual", "Update", "Moderate", shaoxing(40)),
        ("Actual", "Cancel", "Moderate", shaoxing(60)),
    ]
    identifiers = [m["identifier"] for m in messages]
    assert len(set(identifiers)) == 5, identifiers  # a cancel never reuses its alert's
    assert all(i.startswith("urn:uuid:") for i in identifiers)
    assert draft.references == [] and alert.references == []
    assert rise.references == [alert.reference()]
    assert rise_again.references == [alert.reference(), rise.reference()]
    # the lifting cancels the alert, naming every message of its chain
    assert cancel.references == [alert.reference(), rise.reference(), rise_again.reference()]
    assert cancel.root.findtext(f"{CAP}info/{CAP}responseType") == "AllClear"
    geocodes = cancel.root.findall(f"{CAP}info/{CAP}area/{CAP}geocode")
    assert [(g.findtext(f"{CAP}valueName"), g.findtext(f"{CAP}value")) for g in geocodes] == [
        ("GB/T 2260", "330603"),
        ("GB/T 2260", "330604"),
    ]
    # no onset or expires given: the publication is the onset, and each message is in force for
    # the settings' lifetime from its own time (an Update renews it; a Cancel is kept as long)
    day = context.settings.cap_lifetime_hours * 60
    assert [(m.info("onset"), m.info("expires")) for m in messages] == [
        (shaoxing(0), shaoxing(0 + day)),
        (shaoxing(10), shaoxing(10 + day)),
        (shaoxing(10), shaoxing(20 + day)),
        (shaoxing(10), shaoxing(40 + day)),
        (shaoxing(10), shaoxing(60 + day)),
    ]
    public_page = context.settings.public_url.rstrip("/") + "/public"
    assert draft.info("senderName") == ""  # no HQ has published a proposal
    for message in messages:
        assert message["sender"] == context.settings.cap_sender
        assert message is draft or message.info("senderName") == "绍兴市大面积停电事件应急指挥部"
        assert message.info("web") == f"{public_page}#warning-{wid}"
        assert message.info("contact") == context.settings.cap_contact
        assert "自备应急电源" in message.info("instruction") or message is cancel
    assert "解除" in cancel.info("instruction")
    # asked again, the same message: identifiers are derived, not drawn
    again = await client.get(f"{API}/warnings/{wid}/cap", headers=observer)
    assert Message(again.content)["identifier"] == cancel["identifier"]


async def test_a_drills_messages_are_exercises_and_valid_cap(
    client: httpx.AsyncClient, make_token: MakeToken, clock: Clock
) -> None:
    dispatcher = await make_token("dispatcher")
    xinchang = await make_token("commander", region="330624")
    clock.set(0)
    warning = await call(
        client,
        "/warnings",
        dispatcher,
        area=["330624"],
        headline="演练：台风预警",
        description="演练",
        drill=True,
        onset=(T0 + timedelta(hours=2)).isoformat(),
        expires=(T0 + timedelta(hours=12)).isoformat(),
    )
    wid = warning["id"]
    messages = [await read_cap(client, dispatcher, wid)]
    clock.set(5)
    await call(client, f"/warnings/{wid}/publish", xinchang)
    messages.append(await read_cap(client, dispatcher, wid))
    clock.set(30)
    await call(client, f"/warnings/{wid}/lift", xinchang)
    messages.append(await read_cap(client, dispatcher, wid))

    assert [(m["status"], m["msgType"]) for m in messages] == [
        ("Exercise", "Alert"),
        ("Exercise", "Alert"),
        ("Exercise", "Cancel"),
    ]
    assert all("演练" in m["note"] for m in messages)  # CAP: note is for Exercise messages
    assert messages[2].references == [messages[1].reference()]
    assert messages[1].root.findtext(f"{CAP}info/{CAP}onset") == shaoxing(120)
    # the warning's own expiry while it is ahead; the Cancel's from its own time
    assert [m.info("expires") for m in messages[:2]] == [shaoxing(720), shaoxing(720)]
    lifted = datetime.fromisoformat(messages[2]["sent"])
    assert datetime.fromisoformat(messages[2].info("expires")) == lifted + timedelta(days=1)


def test_sender_contact_and_lifetime_are_the_settings() -> None:
    """Another deployment's sender, name, contact, lifetime and address, written as given."""
    grids = Playbooks.load(PLAYBOOKS_DIR).grids
    settings = Settings(
        cap_sender="alerts@example.gov.cn",
        cap_sender_name="绍兴市预警信息发布中心",
        cap_contact="12345",
        cap_lifetime_hours=6,
        public_url="https://outage.example.gov.cn/",
    )
    source = CapSource.of(settings)
    wid = uuid.uuid4()
    warning = WarningRead(
        id=wid,
        event_id=uuid.uuid4(),
        state="published",
        area=["330603"],
        headline="台风预警",
        description="预计停电",
        onset=None,
        expires=None,
        proposed_at=T0,
        published_by="330600",
        published_at=T0 + timedelta(minutes=10),
        lifted_at=None,
    )
    moments = WarningMoments(wid, False, T0, warning.published_at, None)
    alert = warning_messages(moments, [])[-1]
    message = Message(cap_alert(warning, alert, grids, source))
    assert message["sender"] == "alerts@example.gov.cn"
    assert message.info("senderName") == "绍兴市预警信息发布中心"
    assert message.info("contact") == "12345"
    assert message.info("expires") == shaoxing(10 + 6 * 60)
    assert message.info("web") == f"https://outage.example.gov.cn/public#warning-{wid}"


@pytest.mark.parametrize("sender", ["two words", "a,b", "a<b", "a&b"])
def test_a_sender_cap_forbids_is_refused(sender: str) -> None:
    with pytest.raises(ValidationError):
        Settings(cap_sender=sender)


def test_the_schema_check_can_fail() -> None:
    """The checks above would see a document that breaks CAP 1.2."""
    valid = (
        f'<alert xmlns="{CAP[1:-1]}"><identifier>urn:uuid:1</identifier>'
        f"<sender>{SENDER}</sender><sent>2026-07-20T14:00:00+08:00</sent>"
        "<status>Actual</status><msgType>Alert</msgType><scope>Public</scope></alert>"
    )
    assert cap_faults(valid.encode()) == []
    for broken in (
        valid.replace("+08:00", "Z"),  # CAP times carry an offset, never Z
        valid.replace("Alert</msgType>", "Lift</msgType>"),
        valid.replace("urn:uuid:1", "two words"),
        valid.replace("<scope>Public</scope>", "<scope>Public</scope><references>x</references>"),
    ):
        assert cap_faults(broken.encode()), broken


def test_shaoxing_time() -> None:
    assert shaoxing(0) == "2026-07-20T14:00:00+08:00"
    assert datetime.fromisoformat(shaoxing(61)) == T0 + timedelta(minutes=61)
