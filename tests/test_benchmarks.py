"""The benchmark's arithmetic: the median round and the ratios it compares, the storm's counts,
the goals missed; the viewers the board's polls keep up with; and the wrk script that sends
bodies in turn."""

from __future__ import annotations

from benchmarks.board import viewers_served
from benchmarks.cases import Pair, median_round, pair_json
from benchmarks.heavy_pages import HealthPoll, heavy_pages_json, heavy_pages_table, percentile
from benchmarks.load import Load, Target, wrk_script
from benchmarks.observability import observability_json
from benchmarks.output import (
    board_note,
    delivery_table,
    missed_goals,
    observability_table,
    public_note,
    scrapes_table,
)
from benchmarks.scaling import cpu_shares, scaling_json
from benchmarks.scrapes import scrapes_json
from benchmarks.startup import startup_json, startup_table
from benchmarks.storm import kind_figures, storm_verdict


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


def test_a_pair_meets_its_backends_goal_and_its_tail_goal() -> None:
    pair = Pair(
        "reports",
        "POST /api/v1/reports",
        Target("POST", "/api/v1/reports", 201),
        Target("POST", "/join", 201),
        0.6,
        p99_goal=2.0,
        goals=(("postgres", 0.5),),
    )

    def rounds(rps: int, p99: float) -> list[Load]:
        return [Load(requests=rps, errors=0, seconds=1.0, p50_ms=1.0, p99_ms=p99)] * 3

    slow = {"service": rounds(55, 10.0), "bare": rounds(100, 6.0)}
    assert pair_json(pair, slow, "sqlite")["goal"] == 0.6
    assert pair_json(pair, slow, "sqlite")["meets_goal"] is False  # 0.55 < 0.6
    on_postgres = pair_json(pair, slow, "postgres")
    assert (on_postgres["goal"], on_postgres["meets_goal"]) == (0.5, True)
    assert (on_postgres["p99_ratio"], on_postgres["meets_p99_goal"]) == (1.67, True)
    # fast enough, but its tail thrice the floor's: missed
    tail = pair_json(pair, {"service": rounds(90, 18.0), "bare": rounds(100, 6.0)}, "sqlite")
    assert (tail["ratio"], tail["p99_ratio"], tail["meets_goal"]) == (0.9, 3.0, False)


def test_two_workers_are_compared_with_one_round_by_round() -> None:
    cpu = {"service": 1.0, "postgres": 0.5, "generator": 0.25, "machine": 2.0}
    found = scaling_json(
        "classify",
        {1: [load(100), load(200), load(100)], 2: [load(150), load(220), load(90)]},
        {1: [cpu, cpu, {**cpu, "service": 0.5}], 2: [cpu, cpu, cpu]},
    )
    # the rounds' two/one ratios are 1.5, 1.1 and 0.9: their median is 1.1, below classify's 1.3
    assert found["ratio"] == 1.1
    assert (found["goal"], found["meets_goal"]) == (1.3, False)
    assert found["one_worker"]["rps"] == 100.0  # the median round (of 100, 100, 200)
    assert found["two_workers"]["rounds"] == [150.0, 220.0, 90.0]
    assert found["one_worker"]["cpu_cores"]["service"] == 1.0  # median of 1.0, 1.0, 0.5


def test_observability_is_judged_on_cpu_per_request_round_by_round() -> None:
    found = observability_json(
        {"observed": [load(100), load(90), load(120)], "quiet": [load(100), load(100), load(100)]},
        {"observed": [5.5, 5.0, 6.6], "quiet": [5.0, 5.0, 5.0]},
        received=310,
    )
    # CPU per request: the rounds' on/off ratios are 1.1, 1.0 and 1.32, median 1.1: at the goal
    assert (found["cpu_ratio"], found["cost_percent"], found["meets_goal"]) == (1.1, 10.0, True)
    assert found["ratio"] == 1.0  # req/s: 1.0, 0.9 and 1.2
    assert found["observed"]["cpu_ms_per_request"] == 5.5
    table = observability_table({"sqlite": {"observability": {"status": "ok", "pairs": [found]}}})
    assert "10.0%" in table.splitlines()[-1] and table.endswith("ok")
    worse = observability_json(
        {"observed": [load(100)], "quiet": [load(100)]}, {"observed": [5.6], "quiet": [5.0]}, 1
    )
    results = {"sqlite": {"status": "ok", "observability": {"status": "ok", "pairs": [worse]}}}
    assert missed_goals(results) == ["sqlite reports_observed"]


def test_cpu_shares_are_cores_busy_over_the_round() -> None:
    before = {"service": 10.0, "postgres": 4.0, "generator": 1.0, "machine": 100.0}
    after = {"service": 13.0, "postgres": 5.0, "generator": 1.5, "machine": 104.0}
    shares = cpu_shares(before, after, 2.0)
    assert shares == {"service": 1.5, "postgres": 0.5, "generator": 0.25, "machine": 2.0}


def test_a_storm_kind_counts_its_answers_by_class() -> None:
    printed = {
        "requests": 500,
        "us": 2_000_000,
        "ok": 480,
        "refused": 15,
        "failed": 5,
        "unavailable": 2,
        "socket": 0,
        "p50": 1500,
        "p99": 25_000,
    }
    figures = kind_figures(printed)
    assert (figures["rps"], figures["p99_ms"], figures["failed_5xx"]) == (250.0, 25.0, 5)
    assert not storm_verdict({"reports": figures}, failed_runs=0)
    clean = {**figures, "failed_5xx": 0, "unavailable_503": 0}
    assert storm_verdict({"reports": clean}, failed_runs=0)
    assert not storm_verdict({"reports": clean}, failed_runs=1)  # a failed escalation run
    assert not storm_verdict({"reports": {**clean, "socket_errors": 1}}, failed_runs=0)


def test_every_missed_goal_is_named() -> None:
    results = {
        "sqlite": {"status": "ok", "pairs": [{"name": "reports", "meets_goal": True}]},
        "postgres": {
            "status": "ok",
            "pairs": [{"name": "poll", "meets_goal": None}],
            "storm": {"status": "ok", "meets_goal": False},
            "scaling": {"status": "ok", "pairs": [{"name": "classify", "meets_goal": False}]},
        },
    }
    assert missed_goals(results) == ["postgres classify", "postgres storm"]


def test_wrk_sends_a_targets_bodies_in_turn() -> None:
    target = Target("POST", "/api/v1/reports", 201, bodies=({"n": 1}, {"n": 2}))
    script = wrk_script(target)
    assert '[==[{"n": 1}]==], [==[{"n": 2}]==]' in script
    assert "wrk.headers[ [==[Content-Type]==] ] = [==[application/json]==]" in script
    assert "[[" not in script.replace("[ [", "")  # "[[" would open a Lua long string


def test_the_board_counts_the_viewers_its_polls_keep_up_with() -> None:
    assert viewers_served(1124.0, 2.0) == 2248  # each viewer asks once every 2 s
    assert viewers_served(9.9, 2.0) == 19  # a viewer short of a whole is not kept up with
    found = {
        "board": {
            "viewers": 20,
            "poll_seconds": 2.0,
            "page_bytes": 40 * 1024,
            "updates_bytes": 38 * 1024,
            "actions_shown": 58,
        },
        "pairs": [{"name": "board_poll", "service": {"rps": 500.4}}],
    }
    note = board_note(found)
    assert "page 40 KiB" in note and "(58 actions)" in note
    assert "~1000 viewers polling every 2 s" in note
    assert board_note({"pairs": []}) == ""


def test_the_public_note_gives_the_pages_size_and_rate() -> None:
    found = {
        "public": {"citizens": 20, "page_bytes": 1740},
        "pairs": [{"name": "public_page", "service": {"rps": 5210.6}}],
    }
    note = public_note(found)
    assert "public page: 1.7 KiB, 20 connections, 5211 pages a second" in note
    assert public_note({"pairs": []}) == ""


def test_a_busy_start_is_judged_on_its_first_answer_and_its_killed_workers() -> None:
    def start(first: float, killed: int = 0) -> dict[str, float | int]:
        return {"first_answer_s": first, "all_up_s": first + 1, "killed": killed}

    runs = {
        "idle": [start(2.0), start(4.0), start(3.0)],
        "busy_short_timeout": [start(20.0, 1), start(9.0, 2), start(12.0)],
        "busy": [start(8.0), start(11.0), start(6.0)],
    }
    found = startup_json(runs)
    assert found["rounds"] == 3
    assert found["idle"]["first_answer_s"] == 3.0
    assert found["busy"]["ratio_to_idle"] == 2.67  # 8 / 3
    assert found["busy_short_timeout"]["killed_total"] == 3
    assert found["busy_short_timeout"]["killed_max"] == 2
    assert found["meets_goal"] is True  # the busy median, 8 s, within 10 s, and none killed
    table = startup_table({"postgres": {"startup": found}})
    assert "busy machine, a 5 s worker timeout" in table and ": met" in table
    runs["busy"][0] = start(8.0, 1)  # one worker killed in one start misses the goal
    assert startup_json(runs)["meets_goal"] is False
    assert missed_goals({"postgres": {"startup": startup_json(runs)}}) == [
        "postgres start with 2 workers on a busy machine"
    ]
    runs["busy"] = [start(10.5), start(11.0), start(6.0)]  # a median over 10 s misses it too
    assert startup_json(runs)["meets_goal"] is False


def test_a_scrape_flood_is_judged_on_reports_round_by_round_and_on_one_scrape() -> None:
    quiet = [load(100), load(100), load(100)]
    found = scrapes_json(
        {"flooded": [load(95), load(80), load(91)], "quiet": quiet},
        [10.0, 9.0, 10.0],
        0,
        20_000,
        0.008,
    )
    # flooded ÷ quiet round by round: 0.95, 0.8 and 0.91, median 0.91: within 10%
    assert (found["ratio"], found["slowdown_percent"], found["meets_goal"]) == (0.91, 9.0, True)
    assert (found["scrapes_per_second"], found["scrape_ms"]) == (10.0, 8.0)
    table = scrapes_table({"sqlite": {"scrapes": {"status": "ok", "pairs": [found]}}})
    assert table.endswith("ok") and "0.91" in table.splitlines()[-1]
    slower = scrapes_json({"flooded": [load(89)], "quiet": [load(100)]}, [10.0], 0, 20_000, 0.008)
    big = scrapes_json({"flooded": [load(95)], "quiet": [load(100)]}, [10.0], 0, 50_000, 0.008)
    slow = scrapes_json({"flooded": [load(95)], "quiet": [load(100)]}, [10.0], 0, 20_000, 0.02)
    assert [x["meets_goal"] for x in (slower, big, slow)] == [False, False, False]
    results = {"sqlite": {"status": "ok", "scrapes": {"status": "ok", "pairs": [slower]}}}
    assert missed_goals(results) == ["sqlite reports_scraped"]


def test_the_healthy_receivers_p95_beside_six_bad_ones_is_shown_and_judged() -> None:
    receivers = {
        "alone": {"notices": 70, "p50": 0.15, "p95": 0.3, "max": 0.5},
        "beside": {"notices": 70, "p50": 6.0, "p95": 12.0, "max": 20.0},
        "ratio": 40.0,
        "goal_seconds": 1.0,
        "meets_goal": False,
    }
    part = {"ratio": 1.0, "goal": 0.5, "meets_goal": True}
    delivery = {
        "status": "ok",
        "delivery": {**part, "service_per_s": 100.0, "bare_per_s": 100.0},
        **{
            key: {**part, "service": {"rps": 1.0}, "bare": {"rps": 1.0}, "deliveries": {}}
            for key in ("reports", "reports_notifying")
        },
        "receivers": receivers,
    }
    results = {"sqlite": {"status": "ok", "delivery": delivery}}
    assert missed_goals(results) == ["sqlite receivers (webhooks)"]
    (line,) = [x for x in delivery_table(results).splitlines() if "(c) beside 6" in x]
    assert "12.000s" in line and "0.300s" in line and "40.00x" in line


def test_healthz_beside_the_pdfs_is_judged_on_its_p99_and_every_pdf_answered() -> None:
    def polled(samples: list[float], errors: int = 0) -> HealthPoll:
        poll = HealthPoll("http://unused")
        poll.samples, poll.errors = samples, errors
        return poll

    assert percentile([float(ms) for ms in range(1, 101)], 0.99) == 99.0
    assert percentile([5.0, 1.0, 3.0], 0.5) == 3.0
    alone = [polled([2.0] * 99 + [30.0]), polled([3.0] * 100)]
    beside = [polled([4.0] * 98 + [45.0, 900.0]), polled([5.0] * 98 + [45.0, 45.0])]
    pdfs = [[(200, 9.0)] * 5 + [(200, 20.0)], [(200, 10.0)] * 6]
    found = heavy_pages_json(2004, alone, beside, pdfs)
    # the samples of both rounds together: 200 of them, the 198th is 45 ms
    assert (found["alone"]["p99_ms"], found["beside"]["p99_ms"]) == (3.0, 45.0)
    assert found["beside"]["rounds_p99_ms"] == [45.0, 45.0]
    assert found["beside"]["max_ms"] == 900.0
    assert found["pdfs_slowest_s"] == 15.0  # the median round's slowest PDF
    assert found["meets_goal"] is True
    table = heavy_pages_table({"sqlite": {"heavy_pages": found}})
    assert "2004-entry event" in table and "< 50 ms, every PDF 200: met" in table
    refused = heavy_pages_json(2004, alone, beside, [[(503, 1.0)] + [(200, 9.0)] * 5])
    assert refused["meets_goal"] is False and refused["pdfs_not_200"] == 1
    slow = heavy_pages_json(2004, alone, [polled([4.0] * 98 + [60.0, 60.0])], pdfs[:1])
    assert slow["meets_goal"] is False
    assert missed_goals({"postgres": {"heavy_pages": slow}}) == [
        "postgres /healthz beside six PDFs"
    ]
