"""预警 (plan 3.2.2): the states a warning goes through.

Plan 3.2.2.1: the grid side proposes, the government publishes; 3.2.2.3: 谁发布、谁解除.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

WarningState = Literal["proposed", "published", "lifted"]
WARNING_STATES: Final[tuple[WarningState, ...]] = get_args(WarningState)
