"""What an answer means and when the next attempt falls (service.notify.formats,
service.notify.deliverer.backoff), without a network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from service.config import Settings
from service.notify.deliverer import backoff
from service.notify.formats import Answer, judge, retry_after

NOW = datetime(2026, 7, 20, 6, 0, tzinfo=UTC)


def answer(status: int, body: bytes = b"{}", **headers: str) -> Answer:
    return Answer(status, {name.lower(): value for name, value in headers.items()}, body)


@pytest.mark.parametrize(
    ("status", "delivered", "retry"),
    [(200, True, True), (204, True, True), (400, False, False), (404, False, False),
     (408, False, True), (429, False, True), (500, False, True), (503, False, True)],
)  # fmt: skip
def test_a_4xx_other_than_408_and_429_is_final(status: int, delivered: bool, retry: bool) -> None:
    outcome = judge("standard", answer(status), NOW)
    assert (outcome.delivered, outcome.retry, outcome.status) == (delivered, retry, status)


@pytest.mark.parametrize("fmt", ["wecom", "dingtalk"])
def test_a_robots_errcode_decides(fmt: str) -> None:
    ok = judge(fmt, answer(200, b'{"errcode":0,"errmsg":"ok"}'), NOW)
    assert ok.delivered
    refused = judge(fmt, answer(200, b'{"errcode":310000,"errmsg":"keywords not in content"}'), NOW)
    assert not refused.delivered and refused.retry
    assert refused.error == "keywords not in content"
    assert judge(fmt, answer(200, b'{"errcode":45009}'), NOW).error == "errcode 45009"
    # the standard format reads no errcode
    assert judge("standard", answer(200, b'{"errcode":310000}'), NOW).delivered


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert retry_after({"retry-after": "120"}, NOW) == 120
    later = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert retry_after({"retry-after": later}, NOW) == 90
    past = format_datetime(NOW - timedelta(hours=1), usegmt=True)
    assert retry_after({"retry-after": past}, NOW) == 0
    assert retry_after({"retry-after": "soon"}, NOW) is None
    assert retry_after({}, NOW) is None
    assert judge("standard", answer(429, **{"Retry-After": "7"}), NOW).retry_after == 7


def test_attempts_fall_at_about_0_10_20_40_seconds() -> None:
    settings = Settings(delivery_backoff_seconds=10)
    at = 0.0
    times = [at]
    for attempts in range(1, 5):
        at += backoff(settings, attempts)
        times.append(at)
    for got, want in zip(times, [0, 10, 20, 40, 80], strict=True):
        assert want * 0.8 <= got <= want * 1.2
    assert len({backoff(settings, 3) for _ in range(20)}) > 1, "jittered"
