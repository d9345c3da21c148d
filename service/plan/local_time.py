"""Where people read the time: UTC inside, Asia/Shanghai (Beijing time, which Shaoxing keeps) on
every page, message and alert a person reads. The one definition of the zone."""

from __future__ import annotations

from typing import Final
from zoneinfo import ZoneInfo

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")
