"""Figures sent as JSON numbers reach the classifier as the decimals written, on POST /classify
and POST /reports: a JSON number is never read through a binary float."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.helpers import EXACT_BOUNDARIES, Boundary, MakeToken, county, post, report


def raw_snapshot(scope: str, region: str, load: str, lost: str) -> str:
    """A snapshot as JSON text, its figures written as bare JSON numbers exactly as given."""
    return (
        f'{{"scope": "{scope}", "region": "{region}", "load_mw": {load}, "load_lost_mw": {lost}}}'
    )


async def classify_raw(client: httpx.AsyncClient, headers: dict[str, str], snapshot: str) -> Any:
    return await client.post(
        "/api/v1/classify",
        content=f'{{"snapshots": [{snapshot}]}}'.encode(),
        headers={**headers, "Content-Type": "application/json"},
    )


@pytest.mark.parametrize("case", EXACT_BOUNDARIES, ids=lambda b: f"{b.region}-{b.load_lost_mw}")
async def test_json_numbers_at_a_threshold_are_decided_exactly(
    client: httpx.AsyncClient, make_token: MakeToken, case: Boundary
) -> None:
    observer = await make_token("observer")
    snapshot = raw_snapshot(case.scope, case.region, case.load_mw, case.load_lost_mw)

    response = await classify_raw(client, observer, snapshot)

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["level"] == case.level
    assert [b["clause"] for b in result["basis"]] == ([case.clause] if case.clause else [])
    if case.fraction is not None:
        # the answer's number is the exact fraction, written out in full
        assert Decimal(json.dumps(result["basis"][0]["value"])) == Decimal(case.fraction)


@pytest.mark.parametrize("lost", ["60.4", "60.40", "6.04e1", "604E-1", '"60.4"'])
async def test_every_spelling_of_a_figure_is_the_same_figure(
    client: httpx.AsyncClient, make_token: MakeToken, lost: str
) -> None:
    """A JSON number in any notation, or a decimal string, is the decimal it spells."""
    observer = await make_token("observer")

    response = await classify_raw(client, observer, raw_snapshot("county", "330603", "151", lost))

    assert response.status_code == 200, response.text
    assert response.json()["level"] == "IV"
    assert response.json()["basis"][0]["value"] == 0.4


@pytest.mark.parametrize(
    "lost",
    [
        # 39.99999999999999993…%: below 40%, but a binary float of it is 60.4, i.e. 40%
        "60.39999999999999999",
        # 40.00000000000000007…%: the same float the other way
        "60.40000000000000001",
    ],
)
async def test_a_json_number_finer_than_a_report_carries_is_refused(
    client: httpx.AsyncClient, make_token: MakeToken, lost: str
) -> None:
    """Figures carry at most 6 decimal places, whether written as a string or as a JSON number:
    a finer number is refused naming the field, never rounded to a nearby figure and classified."""
    observer = await make_token("observer")

    for spelling in (lost, f'"{lost}"'):
        snapshot = raw_snapshot("county", "330603", "151.0", spelling)
        response = await classify_raw(client, observer, snapshot)

        assert response.status_code == 422, (spelling, response.text)
        fields = [e["field"] for e in response.json()["errors"]]
        assert fields == ["snapshots[0].load_lost_mw"], spelling


async def test_a_float_sum_sent_as_is_is_refused_not_rounded(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """A client that adds 0.1 and 0.2 MW in floats sends 0.30000000000000004: refused (too many
    decimal places), where 0.3 is 40% of 0.75 MW exactly."""
    observer = await make_token("observer")
    float_sum = raw_snapshot("county", "330624", "0.75", "0.30000000000000004")

    refused = await classify_raw(client, observer, float_sum)
    taken = await classify_raw(client, observer, raw_snapshot("county", "330624", "0.75", "0.3"))

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "snapshots[0].load_lost_mw"
    assert (taken.status_code, taken.json()["level"]) == (200, "IV")


async def test_a_report_keeps_the_figures_its_json_numbers_spell(
    client: httpx.AsyncClient, make_token: MakeToken
) -> None:
    """POST /reports reads its figures as /classify does, and stores them as written."""
    dispatcher = await make_token("dispatcher")

    accepted = await post(client, dispatcher, report(county("330603", 151.0, 60.4)))

    assert (accepted["level"], accepted["basis"][0]["value"]) == ("IV", 0.4)
    reports = await client.get(f"/api/v1/events/{accepted['event_id']}/reports", headers=dispatcher)
    [snapshot] = reports.json()["items"][0]["snapshots"]
    assert (snapshot["load_mw"], snapshot["load_lost_mw"]) == (151.0, 60.4)
    finer = report(county("330603", 151.0, 60.4), event_id=accepted["event_id"], minutes=5)
    body = json.dumps(finer).replace("60.4", "60.39999999999999999")
    refused = await client.post(
        "/api/v1/reports",
        content=body.encode(),
        headers={**dispatcher, "Content-Type": "application/json"},
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "snapshots[0].load_lost_mw"
