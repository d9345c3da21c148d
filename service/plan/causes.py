"""What causes large-area outages (plan 1.3, 3.1.1): every report names one."""

from __future__ import annotations

from typing import Final, Literal, get_args

Cause = Literal[
    "typhoon",
    "rainstorm",
    "flood",
    "thunderstorm",
    "tornado",
    "hail",
    "snow_ice",
    "fog",
    "landslide",
    "other_natural",
    "equipment_failure",
    "hvdc_block",
    "operation_error",
    "protection_misoperation",
    "generation_shortfall",
    "external_damage",
    "cyber_attack",
    "other",
]

# The clause of plan 3.1.1 naming each cause: (1) natural disasters … (6) other.
CAUSE_CLAUSES: Final[dict[Cause, str]] = {
    "typhoon": "3.1.1(1)",
    "rainstorm": "3.1.1(1)",
    "flood": "3.1.1(1)",
    "thunderstorm": "3.1.1(1)",
    "tornado": "3.1.1(1)",
    "hail": "3.1.1(1)",
    "snow_ice": "3.1.1(1)",
    "fog": "3.1.1(1)",
    "landslide": "3.1.1(1)",
    "other_natural": "3.1.1(1)",
    "equipment_failure": "3.1.1(2)",
    "hvdc_block": "3.1.1(2)",
    "operation_error": "3.1.1(3)",
    "protection_misoperation": "3.1.1(3)",
    "generation_shortfall": "3.1.1(4)",
    "external_damage": "3.1.1(5)",
    "cyber_attack": "3.1.1(5)",
    "other": "3.1.1(6)",
}
CAUSES: Final[tuple[Cause, ...]] = get_args(Cause)
