"""The tables printed at the end of ``make bench``, and the goals missed."""

from __future__ import annotations

from typing import Any

from benchmarks.board import viewers_served
from benchmarks.cases import AGENCY


def table(results: dict[str, dict[str, Any]]) -> str:
    labels = [p["label"] for r in results.values() for p in r.get("pairs", [])]
    wide = max([len(x) for x in labels] + [20]) + 2
    bare_wide = 16
    head = (
        f"{'backend':<9}{'service':<{wide}}{'req/s':>7}{'p99 ms':>8}   {'bare':<{bare_wide}}"
        f"{'req/s':>7}{'p99 ms':>8}{'ratio':>7}{'goal':>7}{'p99×':>7}{'goal':>6}  result"
    )
    lines = [head, "-" * len(head)]
    for backend, found in results.items():
        if found["status"] != "ok":
            lines.append(f"{backend:<9}{found['status']}: {found['reason'].splitlines()[0]}")
            continue
        for pair in found["pairs"]:
            s, b = pair["service"], pair["bare"]
            bare = b["endpoint"].split("?")[0]
            bare = "GET /rows/{id}" if bare.startswith("GET /rows/") else bare
            errors = s["errors"] + b["errors"]
            goal = "—" if pair["goal"] is None else f"≥{pair['goal']:.1f}"
            p99_goal = pair.get("p99_goal")
            tail = "—" if p99_goal is None else f"≤{p99_goal:.0f}"
            verdict = {None: "info", True: "ok", False: "MISSED"}[pair["meets_goal"]]
            lines.append(
                f"{backend:<9}{pair['label']:<{wide}}{s['rps']:>7.0f}{s['p99_ms']:>8.1f}   "
                f"{bare:<{bare_wide}}{b['rps']:>7.0f}{b['p99_ms']:>8.1f}{pair['ratio']:>7.2f}"
                f"{goal:>7}{pair.get('p99_ratio', 0):>7.1f}{tail:>6}  {verdict}"
                + (f" ({errors} errors)" if errors else "")
            )
        lines.append(
            f"{'':<9}service peak RSS {found['service_peak_rss_kib'] / 1024:.1f} MiB "
            f"(bare app {found['bare_peak_rss_kib'] / 1024:.1f} MiB); the poll ran while "
            f"{AGENCY} held {found['poll_agency_actions']} actions"
        )
        if board := board_note(found):
            lines.append(f"{'':<9}{board}")
        if public := public_note(found):
            lines.append(f"{'':<9}{public}")
    return "\n".join(lines)


def public_note(found: dict[str, Any]) -> str:
    """The public page's size, and its answers a second over its connections."""
    public = found.get("public")
    page = next((p for p in found.get("pairs", []) if p["name"] == "public_page"), None)
    if public is None or page is None:
        return ""
    return (
        f"public page: {public['page_bytes'] / 1024:.1f} KiB, {public['citizens']} connections, "
        f"{page['service']['rps']:.0f} pages a second from one worker"
    )


def board_note(found: dict[str, Any]) -> str:
    """The board's sizes, and how many viewers its 304 answers keep up with."""
    board = found.get("board")
    poll = next((p for p in found.get("pairs", []) if p["name"] == "board_poll"), None)
    if board is None or poll is None:
        return ""
    served = viewers_served(poll["service"]["rps"], board["poll_seconds"])
    return (
        f"board: page {board['page_bytes'] / 1024:.0f} KiB, its events' part "
        f"{board['updates_bytes'] / 1024:.0f} KiB ({board['actions_shown']} actions), "
        f"{board['viewers']} connections; the 304s keep up with ~{served} viewers polling every "
        f"{board['poll_seconds']:g} s"
    )


def dispatch_table(results: dict[str, dict[str, Any]]) -> str:
    runs = [r["dispatch"] for r in results.values() if r.get("dispatch", {}).get("status") == "ok"]
    if not runs:
        return ""
    lines = [
        f"dispatch in process: level {runs[0]['level']}'s whole checklist "
        f"({runs[0]['items']} items), {runs[0]['runs']} runs on fresh events",
        f"{'backend':<9}{'median ms':>10}{'min ms':>8}{'commit ms':>11}  statements",
    ]
    for backend, found in results.items():
        d = found.get("dispatch")
        if d is None:
            continue
        if d["status"] != "ok":
            lines.append(f"{backend:<9}{d['status']}: {d['reason'].splitlines()[0]}")
            continue
        spread = d["statements_min"] != d["statements_max"]
        counted = f"{d['statements_min']}–{d['statements_max']}" if spread else d["statements"]
        lines.append(
            f"{backend:<9}{d['median_ms']:>10.1f}{d['min_ms']:>8.1f}{d['commit_median_ms']:>11.1f}"
            f"  {counted}: {', '.join(d['statement_kinds'])}"
        )
    return "\n".join(lines)


def batch_table(results: dict[str, dict[str, Any]]) -> str:
    runs = [r["batch"] for r in results.values() if r.get("batch", {}).get("status") == "ok"]
    if not runs:
        return ""
    lines = [
        f"a report's new rows in process, write and commit, {runs[0]['runs']} runs a side: "
        "one INSERT per table against the write batch",
        f"{'backend':<9}{'report':<17}{'tables':>7}{'rows':>6}{'one/table ms':>14}"
        f"{'batched ms':>12}{'speed-up':>10}",
    ]
    for backend, found in results.items():
        b = found.get("batch")
        if b is None:
            continue
        if b["status"] != "ok":
            lines.append(f"{backend:<9}{b['status']}: {b['reason'].splitlines()[0]}")
            continue
        for shape in ("below_threshold", "level_iv"):
            s = b[shape]
            lines.append(
                f"{backend:<9}{shape.replace('_', ' '):<17}{s['tables']:>7}{s['rows']:>6}"
                f"{s['one_per_table_median_ms']:>14.2f}{s['batched_median_ms']:>12.2f}"
                f"{s['speedup']:>9.2f}x"
            )
    return "\n".join(lines)


def storm_table(results: dict[str, dict[str, Any]]) -> str:
    runs = {b: r["storm"] for b, r in results.items() if "storm" in r}
    if not runs:
        return ""
    first = next((s for s in runs.values() if s["status"] == "ok"), None)
    lines = [
        "storm mix: every kind at once on one event"
        + (
            f", {first['seconds']} s, escalation every {first['escalation_interval_s']} s; "
            "one wrk per kind; goal: no 5xx"
            if first
            else ""
        ),
        f"{'backend':<9}{'kind':<44}{'conns':>6}{'req/s':>8}{'p99 ms':>9}{'2xx':>7}{'4xx':>6}"
        f"{'5xx':>6}{'503':>5}",
    ]
    for backend, storm in runs.items():
        if storm["status"] != "ok":
            lines.append(f"{backend:<9}{storm['status']}: {storm['reason'].splitlines()[0]}")
            continue
        for kind in storm["kinds"].values():
            lines.append(
                f"{backend:<9}{kind['label']:<44}{kind['connections']:>6}{kind['rps']:>8.0f}"
                f"{kind['p99_ms']:>9.1f}{kind['ok']:>7}{kind['refused_4xx']:>6}"
                f"{kind['failed_5xx']:>6}{kind['unavailable_503']:>5}"
                + (f" ({kind['socket_errors']} socket errors)" if kind["socket_errors"] else "")
            )
        verdict = "ok" if storm["meets_goal"] else "MISSED"
        lines.append(
            f"{'':<9}{storm['workers']} worker(s); escalation: {storm['moved_past_due']} actions "
            f"moved past due, {storm['escalated']} escalated, {storm['escalation_failed_runs']} "
            f"failed run(s); {verdict}"
        )
    return "\n".join(lines)


def scaling_table(results: dict[str, dict[str, Any]]) -> str:
    runs = {b: r["scaling"] for b, r in results.items() if "scaling" in r}
    if not runs:
        return ""
    lines = [
        "one uvicorn worker against two, alternating rounds; CPU: cores busy (median of the "
        "rounds) in the service + postgres (all) + load generator / the whole machine",
        f"{'backend':<9}{'endpoint':<44}{'1w req/s':>9}{'p99':>7}{'2w req/s':>9}{'p99':>7}"
        f"{'ratio':>7}{'goal':>6}  {'result':<8}{'CPU 1w':<18}CPU 2w",
    ]
    for backend, scaling in runs.items():
        if scaling["status"] != "ok":
            lines.append(f"{backend:<9}{scaling['status']}: {scaling['reason'].splitlines()[0]}")
            continue
        for pair in scaling["pairs"]:
            one, two = pair["one_worker"], pair["two_workers"]
            errors = one["errors"] + two["errors"]
            verdict = "ok" if pair["meets_goal"] else "MISSED"
            lines.append(
                f"{backend:<9}{pair['label']:<44}{one['rps']:>9.0f}{one['p99_ms']:>7.1f}"
                f"{two['rps']:>9.0f}{two['p99_ms']:>7.1f}{pair['ratio']:>7.2f}"
                f"{'≥' + format(pair['goal'], '.1f'):>6}  {verdict:<8}"
                f"{_cores(one['cpu_cores']):<18}{_cores(two['cpu_cores'])}"
                + (f" ({errors} errors)" if errors else "")
            )
    return "\n".join(lines)


def observability_table(results: dict[str, dict[str, Any]]) -> str:
    runs = {b: r["observability"] for b, r in results.items() if "observability" in r}
    if not runs:
        return ""
    lines = [
        "/metrics and the JSON request log on against both off, one worker each, alternating "
        "rounds; CPU: the service's ms per request; cost: CPU per request on ÷ off − 1",
        f"{'backend':<9}{'endpoint':<44}{'on req/s':>9}{'off':>6}{'ratio':>7}"
        f"{'on CPU':>8}{'off':>7}{'cost':>8}{'goal':>7}  result",
    ]
    for backend, found in runs.items():
        if found["status"] != "ok":
            lines.append(f"{backend:<9}{found['status']}: {found['reason'].splitlines()[0]}")
            continue
        for pair in found["pairs"]:
            on, off = pair["observed"], pair["quiet"]
            errors = on["errors"] + off["errors"]
            lines.append(
                f"{backend:<9}{pair['label']:<44}{on['rps']:>9.0f}{off['rps']:>6.0f}"
                f"{pair['ratio']:>7.2f}{on['cpu_ms_per_request']:>8.2f}"
                f"{off['cpu_ms_per_request']:>7.2f}{pair['cost_percent']:>7.1f}%{'≤10%':>7}  "
                + ("ok" if pair["meets_goal"] else "MISSED")
                + (f" ({errors} errors)" if errors else "")
            )
    return "\n".join(lines)


def scrapes_table(results: dict[str, dict[str, Any]]) -> str:
    """Reports alone against reports beside twenty scrape loops (benchmarks.scrapes)."""
    runs = {b: r["scrapes"] for b, r in results.items() if "scrapes" in r}
    if not runs:
        return ""
    lines = [
        "twenty /metrics scrape loops beside POST /reports, one worker, alternating rounds; "
        "ratio: req/s flooded ÷ alone (goal ≥ 0.90: at most 10% slower); one scrape's size "
        "(goal < 50 KB) and computation (goal < 20 ms) with 100 events",
        f"{'backend':<9}{'endpoint':<44}{'alone':>7}{'p50':>7}{'flooded':>9}{'p50':>7}"
        f"{'ratio':>7}{'scrapes/s':>10}{'KB':>6}{'ms':>6}  result",
    ]
    for backend, found in runs.items():
        if found["status"] != "ok":
            lines.append(f"{backend:<9}{found['status']}: {found['reason'].splitlines()[0]}")
            continue
        for pair in found["pairs"]:
            quiet, flooded = pair["quiet"], pair["flooded"]
            errors = quiet["errors"] + flooded["errors"] + pair["scrape_errors"]
            lines.append(
                f"{backend:<9}{pair['label']:<44}{quiet['rps']:>7.0f}{quiet['p50_ms']:>7.1f}"
                f"{flooded['rps']:>9.0f}{flooded['p50_ms']:>7.1f}{pair['ratio']:>7.2f}"
                f"{pair['scrapes_per_second']:>10.0f}{pair['scrape_bytes'] / 1000:>6.1f}"
                f"{pair['scrape_ms']:>6.1f}  "
                + ("ok" if pair["meets_goal"] else "MISSED")
                + (f" ({errors} errors)" if errors else "")
            )
    return "\n".join(lines)


def _cores(cpu: dict[str, float]) -> str:
    """``service+postgres+generator/machine`` in cores."""
    return f"{cpu['service']:.1f}+{cpu['postgres']:.1f}+{cpu['generator']:.1f}/{cpu['machine']:.1f}"


def delivery_table(results: dict[str, dict[str, Any]]) -> str:
    """(a) the deliverer against bare httpx, messages/s; (b) reports with 10 subscriptions
    against none, req/s (benchmarks.delivery)."""
    found = {b: r["delivery"] for b, r in results.items() if "delivery" in r}
    if not found:
        return ""
    lines = [
        "webhook delivery: (a) outbox → local receiver, messages/s, the deliverer vs bare httpx "
        "posting the same bodies; (b) POST /reports at IV on the IV event, then IV and below in "
        "turn (each a notice: 10 deliveries), with 10 subscriptions vs none, req/s; (c) a healthy "
        "receiver's p95 delay beside six bad receivers vs alone",
        f"{'backend':<9}{'measure':<14}{'service':>10}{'baseline':>10}{'ratio':>8}{'goal':>7}",
    ]
    for backend, d in found.items():
        if d["status"] != "ok":
            lines.append(f"{backend:<9}{d['status']}: {d['reason'].splitlines()[0]}")
            continue
        a = d["delivery"]
        lines.append(
            f"{backend:<9}{'(a) delivery':<14}{a['service_per_s']:>10.1f}{a['bare_per_s']:>10.1f}"
            f"{a['ratio']:>7.2f}x{a['goal']:>6.1f}x"
        )
        for label, key in (("(b) reports", "reports"), ("(b) notifying", "reports_notifying")):
            b = d[key]
            goal = f"{b['goal']:>6.1f}x" if b["goal"] is not None else f"{'—':>7}"
            lines.append(
                f"{backend:<9}{label:<14}{b['service']['rps']:>10.1f}{b['bare']['rps']:>10.1f}"
                f"{b['ratio']:>7.2f}x{goal}  deliveries {b['deliveries']}"
            )
        if (c := d.get("receivers")) is not None:
            lines.append(
                f"{backend:<9}{'(c) beside 6':<14}{c['beside']['p95']:>9.3f}s"
                f"{c['alone']['p95']:>9.3f}s{c['ratio']:>7.2f}x{c['goal_seconds']:>5.1f}s  "
                f"healthy receiver's p95 beside six bad ones vs alone (p50 "
                f"{c['beside']['p50']:.3f}s vs {c['alone']['p50']:.3f}s; goal: p95 under 1 s)"
            )
    return "\n".join(lines)


def missed_goals(results: dict[str, dict[str, Any]]) -> list[str]:
    """What missed its goal: a pair's ratio, a scaling ratio, a storm with a 5xx, a busy start,
    /healthz's tail beside six PDFs."""
    missed = []
    for backend, found in results.items():
        measures = [
            found.get(name, {}).get("pairs", []) for name in ("scaling", "observability", "scrapes")
        ]
        for pair in found.get("pairs", []) + [p for pairs in measures for p in pairs]:
            if pair["meets_goal"] is False:
                missed.append(f"{backend} {pair['name']}")
        delivery = found.get("delivery", {})
        for part in ("delivery", "reports", "receivers"):
            if delivery.get(part, {}).get("meets_goal") is False:
                missed.append(f"{backend} {part} (webhooks)")
        if found.get("storm", {}).get("meets_goal") is False:
            missed.append(f"{backend} storm")
        if found.get("startup", {}).get("meets_goal") is False:
            missed.append(f"{backend} start with 2 workers on a busy machine")
        if found.get("heavy_pages", {}).get("meets_goal") is False:
            missed.append(f"{backend} /healthz beside six PDFs")
        for name, grown in found.get("growth", {}).get("growth", {}).items():
            if grown["meets_goal"] is False:
                missed.append(f"{backend} {name} growth")
    return missed
