"""A warning's messages as OASIS CAP 1.2 alerts (plan 3.2.2.1: 通过预警信息发布系统向社会公众发布).

Which messages a warning has sent, with their identifiers, times, types and severities, is
``service.plan.alerts``; this module writes one of them as the CAP 1.2 XML document. Who sends
it, whom the public asks and how long a message stays in force are the service's settings,
passed as one ``CapSource``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from xml.etree import ElementTree as ET

from service.config import Settings
from service.flows.warnings.schemas import WarningRead
from service.plan.alerts import AlertMessage, expires, onset
from service.plan.grids import GridRegistry
from service.plan.local_time import SHANGHAI
from service.words import _, use

CAP_NS: Final = "urn:oasis:names:tc:emergency:cap:1.2"
PUBLIC_PATH: Final = "/public"
# CAP's note, "primarily intended for use with status Exercise": what kind of message this is.
NOTES: Final = {
    "Exercise": "演练信息，非真实事件 (drill: not a real event)",
    "Draft": "预警发布建议，尚未发布 (a proposal, not published)",
}


@dataclass(frozen=True, slots=True)
class CapSource:
    """What the settings say of every CAP message: its ``sender`` (no spaces or commas: CAP
    1.2 names a message by "sender,identifier,sent" in references), the ``sender_name`` the
    public reads (None: the HQ that published the warning), the ``contact`` the public asks, the
    ``lifetime`` of a message whose warning gives no expiry, and ``web``, the public page."""

    sender: str
    sender_name: str | None
    contact: str
    lifetime: timedelta
    web: str

    @classmethod
    def of(cls, settings: Settings) -> CapSource:
        return cls(
            sender=settings.cap_sender,
            sender_name=settings.cap_sender_name,
            contact=settings.cap_contact,
            lifetime=settings.cap_lifetime,
            web=settings.public_url.rstrip("/") + PUBLIC_PATH,
        )


def instruction(cancel: bool) -> str:
    """What the public is asked to do, in the plan's words (3.2.2.2: 重要电力用户要做好自备应急
    电源启用准备; 5.4: 提示相关注意事项和安保措施, 澄清谣言). Always Chinese, as the alert's
    ``language`` says."""
    with use("zh"):
        if cancel:
            return _("停电预警已解除。请继续关注政府和供电企业发布的信息，不信谣、不传谣。")
        return _(
            "重要电力用户请做好自备应急电源启用准备；居民请备好照明用品和饮用水，停电期间注意"
            "用电、用火和出行安全，远离断落电线；请关注政府和供电企业发布的信息，不信谣、不传谣。"
        )


def cap_time(value: datetime) -> str:
    """CAP times: an explicit offset, never "Z", no fractions; shown in Shaoxing's own time."""
    return value.astimezone(SHANGHAI).replace(microsecond=0).isoformat()


def reference(message: AlertMessage, sender: str) -> str:
    """CAP 1.2's extended message identifier: ``sender,identifier,sent``."""
    return f"{sender},{message.identifier},{cap_time(message.sent)}"


def cap_alert(
    warning: WarningRead, message: AlertMessage, grids: GridRegistry, source: CapSource
) -> bytes:
    """``message`` of ``warning`` as a CAP 1.2 ``alert`` document, sent by ``source``.

    Its ``info``: before any response level the warning is a forecast (urgency Expected,
    certainty Likely); once a level is declared the outage is under way (Immediate, Observed);
    a cancellation is all clear (AllClear, urgency Past). ``onset`` and ``expires`` are
    ``service.plan.alerts``'s; ``web`` is the public page, at the warning.
    """
    ET.register_namespace("", CAP_NS)
    alert = ET.Element(f"{{{CAP_NS}}}alert")

    def add(parent: ET.Element, tag: str, text: str) -> ET.Element:
        child = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        child.text = text
        return child

    add(alert, "identifier", message.identifier)
    add(alert, "sender", source.sender)
    add(alert, "sent", cap_time(message.sent))
    add(alert, "status", message.status)
    add(alert, "msgType", message.msg_type)
    add(alert, "scope", "Public")
    if message.status in NOTES:
        add(alert, "note", NOTES[message.status])
    if message.references:
        add(alert, "references", " ".join(reference(m, source.sender) for m in message.references))
    cancel = message.msg_type == "Cancel"
    declared = message.level is not None
    info = ET.SubElement(alert, f"{{{CAP_NS}}}info")
    add(info, "language", "zh-CN")
    add(info, "category", "Infra")
    add(info, "event", "大面积停电事件预警")
    add(info, "responseType", "AllClear" if cancel else "Prepare")
    add(info, "urgency", "Past" if cancel else ("Immediate" if declared else "Expected"))
    add(info, "severity", message.severity)
    add(info, "certainty", "Observed" if cancel or declared else "Likely")
    add(info, "onset", cap_time(onset(message, warning.onset)))
    add(info, "expires", cap_time(expires(message, warning.expires, source.lifetime)))
    sender_name = source.sender_name or (
        grids.hq_name(warning.published_by) if warning.published_by else None
    )
    if sender_name:
        add(info, "senderName", sender_name)
    add(info, "headline", ("解除：" if cancel else "") + warning.headline)
    add(info, "description", warning.description)
    add(info, "instruction", instruction(cancel))
    add(info, "web", f"{source.web}#warning-{warning.id}")
    add(info, "contact", source.contact)
    for code in warning.area:
        area = ET.SubElement(info, f"{{{CAP_NS}}}area")
        grid = grids.get(code)
        add(area, "areaDesc", grid.place if grid else code)
        geocode = ET.SubElement(area, f"{{{CAP_NS}}}geocode")
        add(geocode, "valueName", "GB/T 2260")
        add(geocode, "value", code)
    document: bytes = ET.tostring(alert, encoding="utf-8", xml_declaration=True)
    return document
