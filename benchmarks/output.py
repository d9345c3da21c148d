"""The tables printed at the end of ``make bench``."""

from __future__ import annotations

from typing import Any

from benchmarks.cases import AGENCY


def table(results: dict[str, dict[str, Any]]) -> str:
    labels = [p["label"] for r in results.values() for p in r.get("pairs", [])]
    wide = max([len(x) for x in labels] + [20]) + 2
    bare_wide = 16
    head = (
        f"{'backend':<9}{'service':<{wide}}{'req/s':>7}{'p99 ms':>8}   {'bare':<{bare_wide}}"
        f"{'req/s':>7}{'p99 ms':>8}{'ratio':>7}{'goal':>7}  result"
    )
    lines = [head, "-" * len(head)]
    for backend, found in results.items():
        if found["status"] != "ok":
            lines.append(f"{backend:<9}{found['status']}: {found['reason'].splitlines()[0]}")
            continue
        for pair in found["pairs"]:
            s, b = pair["service"], pair["bare"]
            bare = "GET /rows/{id}" if b["endpoint"].startswith("GET /rows/") else b["endpoint"]
            errors = s["errors"] + b["errors"]
            goal = "—" if pair["goal"] is None else f"≥{pair['goal']:.1f}"
            verdict = {None: "info", True: "ok", False: "MISSED"}[pair["meets_goal"]]
            lines.append(
                f"{backend:<9}{pair['label']:<{wide}}{s['rps']:>7.0f}{s['p99_ms']:>8.1f}   "
                f"{bare:<{bare_wide}}{b['rps']:>7.0f}{b['p99_ms']:>8.1f}{pair['ratio']:>7.2f}"
                f"{goal:>7}  {verdict}" + (f" ({errors} errors)" if errors else "")
            )
        lines.append(
            f"{'':<9}service peak RSS {found['service_peak_rss_kib'] / 1024:.1f} MiB "
            f"(bare app {found['bare_peak_rss_kib'] / 1024:.1f} MiB); the poll ran while "
            f"{AGENCY} held {found['poll_agency_actions']} actions"
        )
    return "\n".join(lines)


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
