"""A warning's messages as OASIS CAP 1.2 alerts (plan 3.2.2.1: 通过预警信息发布系统向社会公众发布).

Which messages a warning has sent, with their identifiers, times, types and severities, is
``service.plan.alerts``; this module writes one of them as the CAP 1.2 XML document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from xml.etree import ElementTree as ET

from service.flows.warnings.schemas import WarningRead
from service.plan.alerts import AlertMessage
from service.plan.grids import GridRegistry
from service.plan.local_time import SHANGHAI

CAP_NS: Final = "urn:oasis:names:tc:emergency:cap:1.2"
# No spaces or commas: CAP 1.2 names a message by "sender,identifier,sent" in references.
SENDER: Final = "outage-coordinator@shaoxing.gov.cn"
# CAP's note, "primarily intended for use with status Exercise": what kind of message this is.
NOTES: Final = {
    "Exercise": "演练信息，非真实事件 (drill: not a real event)",
    "Draft": "预警发布建议，尚未发布 (a proposal, not published)",
}


def cap_time(value: datetime) -> str:
    """CAP times: an explicit offset, never "Z", no fractions; shown in Shaoxing's own time."""
    return value.astimezone(SHANGHAI).replace(microsecond=0).isoformat()


def reference(message: AlertMessage) -> str:
    """CAP 1.2's extended message identifier: ``sender,identifier,sent``."""
    return f"{SENDER},{message.identifier},{cap_time(message.sent)}"


def cap_alert(warning: WarningRead, message: AlertMessage, grids: GridRegistry) -> bytes:
    """``message`` of ``warning`` as a CAP 1.2 ``alert`` document.

    Its ``info``: before any response level the warning is a forecast (urgency Expected,
    certainty Likely); once a level is declared the outage is under way (Immediate, Observed);
    a cancellation is all clear (AllClear, urgency Past).
    """
    ET.register_namespace("", CAP_NS)
    alert = ET.Element(f"{{{CAP_NS}}}alert")

    def add(parent: ET.Element, tag: str, text: str) -> ET.Element:
        child = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        child.text = text
        return child

    add(alert, "identifier", message.identifier)
    add(alert, "sender", SENDER)
    add(alert, "sent", cap_time(message.sent))
    add(alert, "status", message.status)
    add(alert, "msgType", message.msg_type)
    add(alert, "scope", "Public")
    if message.status in NOTES:
        add(alert, "note", NOTES[message.status])
    if message.references:
        add(alert, "references", " ".join(reference(m) for m in message.references))
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
    if warning.onset:
        add(info, "onset", cap_time(warning.onset))
    if warning.expires:
        add(info, "expires", cap_time(warning.expires))
    if warning.published_by:
        add(info, "senderName", grids.hq_name(warning.published_by))
    add(info, "headline", ("解除：" if cancel else "") + warning.headline)
    add(info, "description", warning.description)
    for code in warning.area:
        area = ET.SubElement(info, f"{{{CAP_NS}}}area")
        grid = grids.get(code)
        add(area, "areaDesc", grid.place if grid else code)
        geocode = ET.SubElement(area, f"{{{CAP_NS}}}geocode")
        add(geocode, "valueName", "GB/T 2260")
        add(geocode, "value", code)
    document: bytes = ET.tostring(alert, encoding="utf-8", xml_declaration=True)
    return document
