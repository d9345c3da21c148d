"""A warning as an OASIS CAP 1.2 alert (plan 3.2.2.1: 通过预警信息发布系统向社会公众发布)."""

from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

from models import EarlyWarning
from service.plan.grids import GridRegistry

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
SENDER = "outage-coordinator@shaoxing.gov.cn"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _time(value: datetime) -> str:
    """CAP times: an explicit offset, never "Z", no fractions; shown in Shaoxing's own time."""
    return value.astimezone(SHANGHAI).replace(microsecond=0).isoformat()


def cap_alert(warning: EarlyWarning, grids: GridRegistry, drill: bool) -> bytes:
    """The CAP document: ``Alert`` while proposed or published, ``Cancel`` once lifted.

    A proposed warning is ``Draft`` (not for the public yet); a drill's is ``Exercise``.
    """
    ET.register_namespace("", CAP_NS)
    alert = ET.Element(f"{{{CAP_NS}}}alert")

    def add(parent: ET.Element, tag: str, text: str) -> ET.Element:
        child = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        child.text = text
        return child

    status = "Exercise" if drill else ("Draft" if warning.state == "proposed" else "Actual")
    add(alert, "identifier", f"urn:uuid:{warning.id}")
    add(alert, "sender", SENDER)
    add(alert, "sent", _time(warning.lifted_at or warning.published_at or warning.proposed_at))
    add(alert, "status", status)
    add(alert, "msgType", "Cancel" if warning.state == "lifted" else "Alert")
    add(alert, "scope", "Public")
    if warning.state == "lifted":
        add(
            alert,
            "references",
            f"{SENDER},urn:uuid:{warning.id},{_time(warning.published_at or warning.proposed_at)}",
        )
    info = ET.SubElement(alert, f"{{{CAP_NS}}}info")
    add(info, "language", "zh-CN")
    add(info, "category", "Infra")
    add(info, "event", "大面积停电事件预警")
    add(info, "responseType", "Prepare")
    add(info, "urgency", "Expected")
    add(info, "severity", "Severe")
    add(info, "certainty", "Likely")
    if warning.onset:
        add(info, "onset", _time(warning.onset))
    if warning.expires:
        add(info, "expires", _time(warning.expires))
    if warning.published_hq:
        add(info, "senderName", grids.hq_name(warning.published_hq))
    add(info, "headline", warning.headline)
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
