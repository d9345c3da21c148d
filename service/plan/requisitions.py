"""Plan 5.3 社会动员与参与 and what plan 6.3 善后处置 owes for it: the local government's
approval of emergency control, and the register of what was requisitioned.

Plan 5.3: "各级应急指挥部可根据事件的性质和危害程度，报经当地政府批准，对重点地区和重点部位实施
紧急控制" and "紧急情况下可依法征用、调用车辆和物资、人员等". Plan 6.3: "对在大面积停电事件处置中
紧急调集、征用有关单位的人力、物资、财力，按照规定给予补助或补偿" by the 所在地政府.

* A duty whose checklist item says ``requires: approval`` is not done until the approval of a
  government is on record (``Requirement``); the HQ holding it asks its own government, one above
  it, or that of a place within its area: never a neighbour's (``approves_for``).
* Each requisition is registered for one 事发地 (a county hit, or the city when the event names
  none: ``service.plan.addressees.local_regions``), whose government compensates it: the 6.3
  compensation duty of a government lists the requisitions of its own area (``compensates``).

Pure rules over codes; the flows read and write the records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal, Protocol, get_args

# What a checklist item may require before its action is done (``requires:`` in a checklist).
#   approval   the local government's approval, recorded on the action (plan 5.3 报经当地政府批准)
Requirement = Literal["approval"]
REQUIREMENTS: Final[tuple[Requirement, ...]] = get_args(Requirement)

# What is requisitioned: plan 5.3 "车辆和物资、人员", plan 6.3 "人力、物资、财力".
RequisitionKind = Literal["vehicles", "supplies", "personnel", "funds"]
REQUISITION_KINDS: Final[tuple[RequisitionKind, ...]] = get_args(RequisitionKind)

# The playbook's duties the register hangs on: the 5.3 requisition duty, whose holder keeps the
# register, and the 6.3 compensation duty, which lists it (playbooks/checklists).
REQUISITION_DUTY: Final = "response.social.requisition"
COMPENSATION_DUTY: Final = "post-event.local-government.compensation"


class Within(Protocol):
    """The grids' containment (service.plan.grids.GridRegistry.is_within)."""

    def is_within(self, code: str, ancestor: str) -> bool: ...


def approves_for(government: str, hq: str, grids: Within) -> bool:
    """Whether the government of region ``government`` is a 当地政府 of the HQ of region ``hq``
    (plan 5.3): the HQ's own (the government that set it up, plan 2.1, 2.2), one above it, or
    that of a place within its area (the county where the key area lies); not a neighbour's."""
    return grids.is_within(government, hq) or grids.is_within(hq, government)


def registered_for(region: str, local: Sequence[str]) -> bool:
    """Whether a requisition may be registered for ``region`` at an event whose 事发地 are
    ``local`` (the counties hit, or the city when none is named): the government that
    compensates it must be one the 6.3 compensation duty goes to."""
    return region in local


def compensates(government: str, region: str, grids: Within) -> bool:
    """Whether the government of ``government`` compensates a requisition registered for
    ``region`` (plan 6.3 所在地政府): one of its own area. A county's government compensates its
    county's; the city's, which holds the duty when the event names no county, every one."""
    return grids.is_within(region, government)
