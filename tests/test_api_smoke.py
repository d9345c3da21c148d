from __future__ import annotations

import httpx

from tests.conftest import MakeToken


async def test_report_opens_event(client: httpx.AsyncClient, make_token: MakeToken) -> None:
    headers = await make_token("dispatcher")
    body = {
        "observed_at": "2026-11-25T08:00:00+08:00",
        "cause": "typhoon",
        "snapshots": [
            {"scope": "county", "region": "330603", "load_mw": 151.0, "load_lost_mw": 60.4}
        ],
    }
    r = await client.post("/api/v1/reports", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["level"] == "IV"
