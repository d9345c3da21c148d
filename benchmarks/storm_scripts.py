"""The storm mix's wrk scripts (Lua): requests in turn, the warnings' steps, and the counts.

Each kind of request runs in a wrk process of its own. Every script counts its answers by class
(2xx, 4xx, 5xx and, among those, 503) in each thread, and ``done()`` prints the sums with the
latency percentiles as one ``WRK_JSON`` line.
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks.load import BenchError

# Every thread counts the answers by class; done() sums them over the threads.
COUNTING = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok, refused, failed, unavailable = 0, 0, 0, 0 end
function count(status)
  if status >= 500 then
    failed = failed + 1
    if status == 503 then unavailable = unavailable + 1 end
  elseif status >= 400 then refused = refused + 1
  else ok = ok + 1 end
end
function done(summary, latency, requests)
  local sums = {ok = 0, refused = 0, failed = 0, unavailable = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(sums) do sums[name] = sums[name] + thread:get(name) end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "us": %d, "ok": %d, "refused": %d, "failed": %d, '
    .. '"unavailable": %d, "socket": %d, "p50": %d, "p99": %d}\\n',
    summary.requests, summary.duration, sums.ok, sums.refused, sums.failed, sums.unavailable,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""

# Requests sent in turn: each thread formats them once.
IN_TURN = """
local specs = {%s}
local prepared = nil
local turn = 0
function request()
  if prepared == nil then
    prepared = {}
    for _, s in ipairs(specs) do
      table.insert(prepared, wrk.format(s[1], s[2], s[3], s[4]))
    end
  end
  turn = turn %% #prepared + 1
  return prepared[turn]
end
function response(status, headers, body) count(status) end
"""

# Propose, publish, lift, in turn; a refusal starts again with a proposal.
WARNING_STEPS = """
local propose = %s
local city = %s
local step, id = "propose", nil
function request()
  if step == "propose" then return wrk.format(propose[1], propose[2], propose[3], propose[4]) end
  return wrk.format("POST", "/api/v1/warnings/" .. id .. "/" .. step, city, "{}")
end
function response(status, headers, body)
  count(status)
  if step == "propose" and status == 201 then
    id = string.match(body, '"id"%%s*:%%s*"([%%w%%-]+)"')
    step = id and "publish" or "propose"
  elseif step == "publish" and status == 200 then step = "lift"
  else step = "propose" end
end
"""


def lua(text: str) -> str:
    if "]==]" in text:
        raise BenchError(f"cannot quote {text!r} for wrk")
    return f"[==[{text}]==]"


def lua_headers(headers: dict[str, str], json_body: bool) -> str:
    if json_body:
        headers = {**headers, "Content-Type": "application/json"}
    # "[ [==[" with spaces: "[[" would open a long string
    return "{" + ", ".join(f"[ {lua(k)} ] = {lua(v)}" for k, v in headers.items()) + "}"


def lua_request(method: str, path: str, headers: dict[str, str], body: Any = None) -> str:
    """``{method, path, {headers}, body}`` for ``wrk.format``; a JSON body gets its type."""
    encoded = "nil" if body is None else lua(json.dumps(body, ensure_ascii=False))
    fields = lua_headers(headers, json_body=body is not None)
    return f"{{{lua(method)}, {lua(path)}, {fields}, {encoded}}}"


def in_turn(requests: list[str]) -> str:
    return COUNTING + IN_TURN % ", ".join(requests)
