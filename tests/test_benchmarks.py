"""The benchmark's arithmetic: the median round and the ratio it compares."""

from __future__ import annotations

from benchmarks.cases import Pair, median_round, pair_json
from benchmarks.load import Load, Target


def load(requests: int, errors: int = 0) -> Load:
    return Load(requests=requests, errors=errors, seconds=1.0, p50_ms=1.0, p99_ms=2.0)


def test_the_median_round_is_compared() -> None:
    assert median_round([load(300), load(100), load(200)]).requests == 200
    assert median_round([load(400), load(100)]).requests == 100  # even: the lower middle
    pair = Pair(
        "reports",
        "POST /api/v1/reports",
        Target("POST", "/api/v1/reports", 201),
        Target("POST", "/insert", 201),
        0.5,
    )
    found = pair_json(
        pair,
        {"service": [load(90), load(60, errors=1)], "bare": [load(100), load(130)]},
    )
    # the rounds' ratios are 90/100 and 60/130 ≈ 0.4615: their median (the mean of two) ≈ 0.6808
    assert found["ratio"] == 0.681
    assert found["meets_goal"] is True
    assert found["service"]["rounds"] == [90.0, 60.0]
    assert found["service"]["errors"] == 1
